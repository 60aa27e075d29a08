import GRPCCore
import NIOCore
import NIOHPACK

/// What a request's HEADERS say once checked: the method, the metadata the RPC sees, the
/// timeout, the compression of each direction and, for a browser's call, its web protocol.
struct RequestHead {
  var descriptor: MethodDescriptor
  var metadata: Metadata
  /// The call's `grpc-timeout` (or `connect-timeout-ms`), when it had a well-formed one.
  var timeout: Duration?
  /// How the client compresses its messages (a Connect unary call: its whole body); nil: it
  /// does not.
  var requestCompression: CompressionMethod?
  /// How the server compresses its messages; nil: it does not.
  var responseCompression: CompressionMethod?
  /// gRPC-Web or Connect: how the response is written; nil for gRPC.
  var web: WebResponse?
  /// A Connect GET's message: the whole request, already there.
  var body: ByteBuffer?

  /// The protocol the call speaks.
  var wire: WireProtocol { self.web?.wire ?? .grpc }

  /// The outcome of checking a request's HEADERS.
  enum Check {
    case accept(RequestHead)
    /// Answer with these headers (a trailers-only response or a bare HTTP status) and end.
    case reject(HPACKHeaders)
    /// Answer with these headers and this body, and end.
    case respond(HPACKHeaders, ByteBuffer)
  }

  /// The header fields a check reads, gathered in one pass.
  struct Fields {
    var contentType: Substring?
    var method: Substring?
    var scheme: Substring?
    var path: Substring?
    var authority: Substring?
    var encodings: [Substring] = []
    var acceptEncodings: [Substring] = []
    var timeout: Duration?
    var connectTimeout: Duration?
    var contentEncoding: Substring?
    var connectContentEncoding: Substring?
    var origin: Substring?
    var preflightMethod: Substring?
    var preflightHeaders: Substring?
    var metadata = Metadata()

    init(_ headers: HPACKHeaders) {
      self.metadata.reserveCapacity(headers.count)
      for (name, value, _) in headers {
        if name.utf8.first == UInt8(ascii: ":") {
          switch name {
          case ":method": self.method = Substring(value)
          case ":scheme": self.scheme = Substring(value)
          case ":path": self.path = Substring(value)
          case ":authority": self.authority = Substring(value)
          default: break
          }
          continue
        }
        // A malformed grpc-timeout is left out of the metadata too.
        guard self.read(name: name, value: value) else { continue }
        if name.hasSuffix("-bin") {
          if let bytes = Base64.decode(value) {
            self.metadata.addBinary(bytes, forKey: name)
          } else {
            self.metadata.addString(value, forKey: name)
          }
        } else {
          self.metadata.addString(value, forKey: name)
        }
      }
    }

    /// Reads the fields the check needs; false for a value to leave out of the metadata.
    private mutating func read(name: String, value: String) -> Bool {
      switch name {
      case "content-type": self.contentType = Substring(value)
      case "grpc-encoding": self.encodings.append(Substring(value))
      case "grpc-accept-encoding":
        self.acceptEncodings += value.split(separator: ",").map { $0.trimmingSpaces }
      case "grpc-timeout":
        guard let timeout = GRPCTimeout.duration(of: Substring(value)) else { return false }
        self.timeout = timeout
      case "connect-timeout-ms":
        if value.utf8.count <= 10, let milliseconds = Int64(value), milliseconds >= 0 {
          self.connectTimeout = .milliseconds(milliseconds)
        }
      case "content-encoding": self.contentEncoding = Substring(value)
      case "connect-content-encoding": self.connectContentEncoding = Substring(value)
      case "origin": self.origin = Substring(value)
      case "access-control-request-method": self.preflightMethod = Substring(value)
      case "access-control-request-headers": self.preflightHeaders = Substring(value)
      default: break
      }
      return true
    }
  }

  /// Checks `headers` as gRPC over HTTP/2 asks: content type, method, scheme, path and
  /// encoding, then builds the metadata; with `web`, a request that is not gRPC is checked
  /// as a browser's (``WebRequest``). A malformed `grpc-timeout` is left out, so that no
  /// part of the server ever parses it (grpc-swift-2 2.4.3 traps on a negative one).
  /// - Parameters:
  ///   - knownMethods: the server's methods by path, so that their descriptors are shared.
  ///   - compression: the encodings the server accepts.
  ///   - web: the web protocols' settings, and whether the connection is HTTP/1.1; nil:
  ///     gRPC only.
  static func check(
    _ headers: HPACKHeaders,
    knownMethods: [String: MethodDescriptor],
    compression: [CompressionMethod],
    web: WebRequest.Connection? = nil
  ) -> Check {
    let fields = Fields(headers)
    let isGRPC = fields.contentType.map(Self.isGRPC(contentType:)) ?? false
    // gRPC's content type over HTTP/2 is gRPC whatever the method (a GET gets gRPC's refusal);
    // every other request, and every one over HTTP/1.1, is the web protocols' to answer.
    if let web, !isGRPC || web.isHTTP1 {
      return WebRequest(fields: fields, connection: web).check(
        knownMethods: knownMethods,
        compression: compression
      )
    }
    guard isGRPC else {
      var response = HPACKHeaders()
      response.add(name: ":status", value: "415")
      return .reject(response)
    }
    guard let path = fields.path else {
      return .reject(.trailersOnly(.invalidArgument, "No :path header has been set."))
    }
    guard fields.scheme == "http" || fields.scheme == "https" else {
      return .reject(
        .trailersOnly(.invalidArgument, ":scheme must be present and be \"http\" or \"https\".")
      )
    }
    guard fields.method == "POST" else {
      return .reject(.trailersOnly(.invalidArgument, ":method must be present and be \"POST\"."))
    }
    guard let descriptor = knownMethods[String(path)] ?? Self.descriptor(path: path) else {
      return .reject(
        .trailersOnly(.unimplemented, "Requested RPC isn't implemented by this server.")
      )
    }
    let requestCompression: CompressionMethod?
    switch Self.requestCompression(fields.encodings, accepted: compression) {
    case .success(let method): requestCompression = method
    case .failure(let rejection): return .reject(rejection.headers)
    }
    return .accept(
      RequestHead(
        descriptor: descriptor,
        metadata: fields.metadata,
        timeout: fields.timeout,
        requestCompression: requestCompression,
        responseCompression: Self.responseCompression(fields.acceptEncodings, accepted: compression)
      )
    )
  }

  /// Why a request's compression is refused: its trailers-only answer.
  struct CompressionRejection: Error {
    var status: Status
    var acceptEncoding: String

    /// The trailers-only response that says so (gRPC).
    var headers: HPACKHeaders {
      var response = HPACKHeaders.trailersOnly(self.status.code, self.status.message)
      response.add(name: "grpc-accept-encoding", value: self.acceptEncoding)
      return response
    }
  }

  /// The compression `encodings` (a request's `grpc-encoding` values) name.
  static func requestCompression(
    _ encodings: [Substring],
    accepted compression: [CompressionMethod]
  ) -> Result<CompressionMethod?, CompressionRejection> {
    guard let encoding = encodings.first else { return .success(nil) }
    let acceptEncoding = (["identity"] + compression.map(\.name)).joined(separator: ",")
    guard encodings.count == 1 else {
      return .failure(
        CompressionRejection(
          status: Status(
            code: .internalError,
            message: "grpc-encoding must have one value at most."
          ),
          acceptEncoding: acceptEncoding
        )
      )
    }
    guard encoding != "identity" else { return .success(nil) }
    guard let method = CompressionMethod(rawValue: String(encoding)), compression.contains(method)
    else {
      return .failure(
        CompressionRejection(
          status: Status(
            code: .unimplemented,
            message: "\(encoding) compression is not supported; supported algorithms are listed in "
              + "grpc-accept-encoding"
          ),
          acceptEncoding: acceptEncoding
        )
      )
    }
    return .success(method)
  }

  /// The first of `acceptEncodings` that the server speaks.
  static func responseCompression(
    _ acceptEncodings: [Substring],
    accepted compression: [CompressionMethod]
  ) -> CompressionMethod? {
    acceptEncodings.lazy.compactMap { CompressionMethod(rawValue: String($0)) }
      .first { compression.contains($0) }
  }

  /// Whether `contentType` is gRPC's with protobuf (what this server speaks).
  static func isGRPC(contentType: Substring) -> Bool {
    let type = contentType.split(separator: ";", maxSplits: 1).first?.trimmingSpaces ?? ""
    return type == "application/grpc" || type == "application/grpc+proto"
  }

  /// The method a `/service/method` path names; nil for any other shape.
  static func descriptor(path: Substring) -> MethodDescriptor? {
    guard path.first == "/" else { return nil }
    let rest = path.dropFirst()
    guard let slash = rest.firstIndex(of: "/") else { return nil }
    let service = rest[..<slash]
    let method = rest[rest.index(after: slash)...]
    guard !service.isEmpty, !method.isEmpty else { return nil }
    return MethodDescriptor(fullyQualifiedService: String(service), method: String(method))
  }
}
