import Foundation
import GRPCCore
import NIOCore
import StorefrontAPI
import StorefrontTransport
import SwiftProtobuf

/// What the Storefront transport must know to serve the API to browsers (gRPC-Web and
/// Connect): every method a browser may call, its kind, its messages' JSON and whether it is
/// free of side effects (Connect GET).
enum WebAPI {
  typealias Method = StorefrontServerTransport.Method

  /// The API's methods by path. Chat's bidirectional stream is here too: over HTTP/2 a
  /// Connect client can call it; over HTTP/1.1 the transport answers that it needs HTTP/2.
  static let methods: [String: Method] = {
    typealias Products = Storefront_V1_ProductService.Method
    typealias Auth = Storefront_V1_AuthService.Method
    typealias Users = Storefront_V1_UserService.Method
    typealias Health = Grpc_Health_V1_Health.Method
    let entries = [
      entry(Products.GetProduct.self, get: true),
      entry(Products.ListProducts.self),
      entry(Products.UploadProductImages.self),
      entry(Products.Chat.self),
      entry(Products.CreateProduct.self),
      entry(Products.UpdateProduct.self),
      entry(Products.DeleteProduct.self),
      entry(Products.WatchProducts.self),
      entry(Products.DownloadProductImage.self),
      entry(Products.ImportProducts.self),
      entry(Products.FollowChat.self),
      entry(Products.SendChatMessage.self),
      entry(Auth.Login.self),
      entry(Users.CreateUser.self),
      entry(Users.ListUsers.self, get: true),
      entry(Users.DisableUser.self),
      entry(Health.Check.self, get: true),
      entry(Health.Watch.self),
    ]
    return Dictionary(uniqueKeysWithValues: entries)
  }()

  /// The path and transport entry of the generated method namespace `Namespace`.
  private static func entry<Namespace: WebCallable>(
    _ namespace: Namespace.Type,
    get: Bool = false
  ) -> (String, Method) {
    let descriptor = Namespace.descriptor
    let kind: Method.Kind =
      switch descriptor.type {
      case .serverStreaming: .serverStreaming
      case .clientStreaming: .clientStreaming
      case .bidirectionalStreaming: .bidirectionalStreaming
      case .unary, nil: .unary
      }
    let method = Method(
      kind: kind,
      json: Self.codec(Namespace.Input.self, Namespace.Output.self),
      allowsGET: get
    )
    return ("/" + descriptor.fullyQualifiedMethod, method)
  }

  /// Protobuf's canonical JSON mapping, as swift-protobuf writes it. Unknown fields are
  /// ignored, as Connect's own servers do, so that a newer page works with an older server.
  private static func codec<Input: SwiftProtobuf.Message, Output: SwiftProtobuf.Message>(
    _: Input.Type,
    _: Output.Type
  ) -> StorefrontServerTransport.JSONCodec {
    var decoding = JSONDecodingOptions()
    decoding.ignoreUnknownFields = true
    let options = decoding
    return StorefrontServerTransport.JSONCodec(
      request: { json in
        let message = try Input(jsonUTF8Bytes: Array(json.readableBytesView), options: options)
        let bytes: [UInt8] = try message.serializedBytes()
        return ByteBuffer(bytes: bytes)
      },
      response: { binary in
        let message = try Output(serializedBytes: Array(binary.readableBytesView))
        let json: [UInt8] = try message.jsonUTF8Bytes()
        return ByteBuffer(bytes: json)
      }
    )
  }

  /// The web page's files: every regular file below `directory`, by its path there
  /// (`/index.html`, `/images/logo.svg`), with a content type by its extension.
  /// - Throws: when the folder cannot be read.
  static func files(in directory: URL) throws -> [String: StorefrontServerTransport.StaticFile] {
    let manager = FileManager.default
    var files: [String: StorefrontServerTransport.StaticFile] = [:]
    guard
      let walker = manager.enumerator(
        at: directory,
        includingPropertiesForKeys: [.isRegularFileKey]
      )
    else { return [:] }
    let root = directory.standardizedFileURL.path
    for case let url as URL in walker {
      guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else {
        continue
      }
      let path = String(url.standardizedFileURL.path.dropFirst(root.count))
      let bytes = try Data(contentsOf: url)
      files[path.hasPrefix("/") ? path : "/" + path] = StorefrontServerTransport.StaticFile(
        contentType: Self.contentType(of: url.pathExtension),
        bytes: ByteBuffer(bytes: bytes)
      )
    }
    return files
  }

  private static func contentType(of pathExtension: String) -> String {
    switch pathExtension.lowercased() {
    case "html": "text/html; charset=utf-8"
    case "js", "mjs": "text/javascript; charset=utf-8"
    case "css": "text/css; charset=utf-8"
    case "svg": "image/svg+xml"
    case "png": "image/png"
    case "jpg", "jpeg": "image/jpeg"
    case "json": "application/json"
    case "ico": "image/x-icon"
    case "txt": "text/plain; charset=utf-8"
    default: "application/octet-stream"
    }
  }
}

/// A generated method namespace (`Storefront_V1_ProductService.Method.GetProduct`): its
/// message types.
protocol WebCallable {
  associatedtype Input: SwiftProtobuf.Message
  associatedtype Output: SwiftProtobuf.Message
  static var descriptor: MethodDescriptor { get }
}

extension Storefront_V1_ProductService.Method.GetProduct: WebCallable {}
extension Storefront_V1_ProductService.Method.ListProducts: WebCallable {}
extension Storefront_V1_ProductService.Method.UploadProductImages: WebCallable {}
extension Storefront_V1_ProductService.Method.Chat: WebCallable {}
extension Storefront_V1_ProductService.Method.CreateProduct: WebCallable {}
extension Storefront_V1_ProductService.Method.UpdateProduct: WebCallable {}
extension Storefront_V1_ProductService.Method.DeleteProduct: WebCallable {}
extension Storefront_V1_ProductService.Method.WatchProducts: WebCallable {}
extension Storefront_V1_ProductService.Method.DownloadProductImage: WebCallable {}
extension Storefront_V1_ProductService.Method.ImportProducts: WebCallable {}
extension Storefront_V1_ProductService.Method.FollowChat: WebCallable {}
extension Storefront_V1_ProductService.Method.SendChatMessage: WebCallable {}
extension Storefront_V1_AuthService.Method.Login: WebCallable {}
extension Storefront_V1_UserService.Method.CreateUser: WebCallable {}
extension Storefront_V1_UserService.Method.ListUsers: WebCallable {}
extension Storefront_V1_UserService.Method.DisableUser: WebCallable {}
extension Grpc_Health_V1_Health.Method.Check: WebCallable {}
extension Grpc_Health_V1_Health.Method.Watch: WebCallable {}
