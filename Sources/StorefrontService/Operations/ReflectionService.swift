import Foundation
public import GRPCCore
public import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

/// The protobuf descriptors the server can describe: every file of `Protos/` with its imports,
/// indexed by file name and by the fully-qualified symbols they declare.
public struct DescriptorIndex: Sendable {
  private let files: [String: Google_Protobuf_FileDescriptorProto]
  private let fileOfSymbol: [String: String]
  /// The fully-qualified names of the services reflection lists.
  public let services: [String]

  /// Indexes the descriptors generated from `Protos/`, listing `services`.
  /// - Throws: when the embedded descriptor set cannot be decoded (a build defect).
  public init(services: [String]) throws {
    guard
      let bytes = Data(
        base64Encoded: StorefrontFileDescriptors.fileDescriptorSetBase64,
        options: .ignoreUnknownCharacters
      )
    else {
      throw StorefrontError(code: .internalError, message: "the descriptor set is not base64")
    }
    let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: bytes)
    var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
    var fileOfSymbol: [String: String] = [:]
    for file in set.file {
      files[file.name] = file
      for symbol in Self.symbols(of: file) {
        fileOfSymbol[symbol] = file.name
      }
    }
    self.files = files
    self.fileOfSymbol = fileOfSymbol
    self.services = services.sorted()
  }

  /// Every fully-qualified symbol a file declares: messages and enums (nested too), their
  /// fields and values, services and methods, and extensions.
  private static func symbols(of file: Google_Protobuf_FileDescriptorProto) -> [String] {
    let prefix = file.package.isEmpty ? "" : file.package + "."
    var symbols: [String] = []
    func add(_ message: Google_Protobuf_DescriptorProto, in scope: String) {
      let name = scope + message.name
      symbols.append(name)
      symbols += message.field.map { "\(name).\($0.name)" }
      symbols += message.extension.map { "\(name).\($0.name)" }
      for nested in message.nestedType { add(nested, in: name + ".") }
      for enumeration in message.enumType {
        symbols.append("\(name).\(enumeration.name)")
        symbols += enumeration.value.map { "\(name).\($0.name)" }
      }
    }
    for message in file.messageType { add(message, in: prefix) }
    for enumeration in file.enumType {
      symbols.append(prefix + enumeration.name)
      symbols += enumeration.value.map { prefix + $0.name }
    }
    for service in file.service {
      symbols.append(prefix + service.name)
      symbols += service.method.map { "\(prefix)\(service.name).\($0.name)" }
    }
    symbols += file.extension.map { prefix + $0.name }
    return symbols
  }

  /// The file named `name` and every file it imports, directly or not, each once, the named
  /// file first.
  func fileWithDependencies(named name: String) throws(ReflectionFailure) -> [Data] {
    guard self.files[name] != nil else { throw .notFound("file '\(name)' is not known") }
    var ordered: [String] = []
    var seen: Set<String> = []
    var pending = [name]
    while let next = pending.popLast() {
      guard seen.insert(next).inserted, let file = self.files[next] else { continue }
      ordered.append(next)
      pending += file.dependency.reversed()
    }
    do {
      return try ordered.map { try self.files[$0]!.serializedData() }
    } catch {
      throw .internalFailure("a descriptor could not be serialised")
    }
  }

  /// The file declaring `symbol`, with its dependencies.
  func fileWithDependencies(containing symbol: String) throws(ReflectionFailure) -> [Data] {
    guard let name = self.fileOfSymbol[symbol] else {
      throw .notFound("symbol '\(symbol)' is not known")
    }
    return try self.fileWithDependencies(named: name)
  }

  /// Whether `type` names a known message.
  func isMessage(_ type: String) -> Bool {
    guard let file = self.fileOfSymbol[type].flatMap({ self.files[$0] }) else { return false }
    let prefix = file.package.isEmpty ? "" : file.package + "."
    func contains(_ messages: [Google_Protobuf_DescriptorProto], scope: String) -> Bool {
      messages.contains {
        scope + $0.name == type || contains($0.nestedType, scope: scope + $0.name + ".")
      }
    }
    return contains(file.messageType, scope: prefix)
  }
}

/// Why a reflection request cannot be answered; sent as an `error_response`, the stream
/// goes on.
enum ReflectionFailure: Error {
  case notFound(String)
  case internalFailure(String)

  var response: Grpc_Reflection_V1_ErrorResponse {
    switch self {
    case .notFound(let message):
      .with {
        $0.errorCode = Int32(RPCError.Code.notFound.rawValue)
        $0.errorMessage = message
      }
    case .internalFailure(let message):
      .with {
        $0.errorCode = Int32(RPCError.Code.internalError.rawValue)
        $0.errorMessage = message
      }
    }
  }
}

/// The standard `grpc.reflection.v1.ServerReflection` service, so that generic clients
/// (grpcurl, Postman, grpcio-reflection) can list the services and call them without our
/// protos.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
  private let index: DescriptorIndex

  public init(index: DescriptorIndex) {
    self.index = index
  }

  /// Answers each request in turn; an unanswerable one gets an `error_response` and the
  /// stream goes on.
  public func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
    context: ServerContext
  ) async throws {
    for try await message in request {
      try await response.write(self.answer(message))
    }
  }

  /// The answer to one request.
  func answer(
    _ request: Grpc_Reflection_V1_ServerReflectionRequest
  ) -> Grpc_Reflection_V1_ServerReflectionResponse {
    var answer = Grpc_Reflection_V1_ServerReflectionResponse()
    answer.validHost = request.host
    answer.originalRequest = request
    do {
      switch request.messageRequest {
      case .listServices:
        answer.listServicesResponse = .with {
          $0.service = self.index.services.map { name in .with { $0.name = name } }
        }
      case .fileByFilename(let name):
        let files = try self.index.fileWithDependencies(named: name)
        answer.fileDescriptorResponse = .with { $0.fileDescriptorProto = files }
      case .fileContainingSymbol(let symbol):
        let files = try self.index.fileWithDependencies(containing: symbol)
        answer.fileDescriptorResponse = .with { $0.fileDescriptorProto = files }
      case .fileContainingExtension(let extensionRequest):
        throw ReflectionFailure.notFound(
          "no extension \(extensionRequest.extensionNumber) of "
            + "'\(extensionRequest.containingType)' is known"
        )
      case .allExtensionNumbersOfType(let type):
        guard self.index.isMessage(type) else {
          throw ReflectionFailure.notFound("type '\(type)' is not known")
        }
        answer.allExtensionNumbersResponse = .with { $0.baseTypeName = type }
      case nil:
        throw ReflectionFailure.notFound("the request asks for nothing")
      }
    } catch let failure as ReflectionFailure {
      answer.errorResponse = failure.response
    } catch {
      answer.errorResponse = ReflectionFailure.internalFailure("\(error)").response
    }
    return answer
  }
}

/// The same service under its older name, `grpc.reflection.v1alpha.ServerReflection`, which
/// many tools still use. Its messages are v1's field for field, so it converts and answers
/// with ``ReflectionService``.
public struct ReflectionServiceV1Alpha:
  Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol
{
  private let current: ReflectionService

  public init(index: DescriptorIndex) {
    self.current = ReflectionService(index: index)
  }

  public func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
    context: ServerContext
  ) async throws {
    for try await message in request {
      let converted = try Grpc_Reflection_V1_ServerReflectionRequest(
        serializedBytes: message.serializedBytes() as [UInt8]
      )
      let answer = self.current.answer(converted)
      try await response.write(
        Grpc_Reflection_V1alpha_ServerReflectionResponse(
          serializedBytes: answer.serializedBytes() as [UInt8]
        )
      )
    }
  }
}
