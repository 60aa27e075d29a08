import GRPCCore
import NIOCore
import NIOHPACK

/// A browser's request, checked: CORS first (a preflight is answered, a caller from an origin
/// that may not call is refused), then the page's files, then a gRPC-Web or Connect call,
/// which becomes a ``RequestHead`` like a gRPC call's, for the same handlers.
struct WebRequest {
  /// What the check needs of the connection.
  struct Connection {
    let settings: StorefrontServerTransport.Web
    /// HTTP/1.1 carries no bidirectional streams.
    let isHTTP1: Bool
  }

  let fields: RequestHead.Fields
  let connection: Connection

  /// The response headers that tell a browser the page's script may read the response.
  static let exposedHeaders =
    "grpc-status, grpc-message, grpc-status-details-bin, grpc-encoding, x-request-id, "
    + "connect-content-encoding"

  /// The caller's origin may call: it is the server's own, or one `--web-origin` lists.
  private var originAllowed: Bool {
    guard let origin = self.fields.origin else { return true }
    return self.isSameOrigin(origin) || self.connection.settings.allows(origin: origin)
  }

  private func isSameOrigin(_ origin: Substring) -> Bool {
    guard let authority = self.fields.authority else { return false }
    let scheme = self.fields.scheme ?? "http"
    return origin.lowercased() == "\(scheme)://\(authority)".lowercased()
  }

  /// CORS headers for a response to a caller from another origin that may call.
  private var corsHeaders: [(String, String)] {
    guard let origin = self.fields.origin, !self.isSameOrigin(origin) else { return [] }
    return [
      ("access-control-allow-origin", String(origin)),
      ("vary", "origin"),
      ("access-control-expose-headers", Self.exposedHeaders),
    ]
  }

  func check(
    knownMethods: [String: MethodDescriptor],
    compression: [CompressionMethod]
  ) -> RequestHead.Check {
    let target = self.fields.path ?? ""
    let path =
      target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first
      ?? ""
    if self.fields.method == "OPTIONS" {
      return self.preflight()
    }
    guard self.originAllowed else {
      return Self.plain(
        403,
        "This origin may not call this server (the server's --web-origin lists those that may)."
      )
    }
    switch self.fields.method {
    case "GET", "HEAD":
      if self.connection.settings.methods[String(path)] != nil {
        return self.connectGET(path: path, target: target, knownMethods: knownMethods)
      }
      return self.file(path: path)
    case "POST":
      return self.call(path: path, knownMethods: knownMethods, compression: compression)
    default:
      return Self.plain(405, "This server answers GET, HEAD, POST and OPTIONS.")
    }
  }

  // MARK: CORS and files

  /// A CORS preflight: allowed (204 with what the browser asked for) or refused (403).
  private func preflight() -> RequestHead.Check {
    var headers = HPACKHeaders()
    guard let origin = self.fields.origin, self.fields.preflightMethod != nil else {
      headers.add(name: ":status", value: "204")
      headers.add(name: "allow", value: "GET, HEAD, POST, OPTIONS")
      return .reject(headers)
    }
    guard self.originAllowed else {
      return Self.plain(403, "This origin may not call this server.")
    }
    headers.add(name: ":status", value: "204")
    headers.add(name: "access-control-allow-origin", value: String(origin))
    headers.add(name: "access-control-allow-methods", value: "GET, POST")
    if let requested = self.fields.preflightHeaders {
      headers.add(name: "access-control-allow-headers", value: String(requested))
    }
    headers.add(name: "access-control-max-age", value: "7200")
    headers.add(name: "vary", value: "origin")
    return .reject(headers)
  }

  /// One of the page's files, or 404.
  private func file(path: Substring) -> RequestHead.Check {
    let name = path == "/" ? "/index.html" : String(path)
    guard let file = self.connection.settings.files[name] else {
      return Self.plain(404, "Not found.")
    }
    var headers = HPACKHeaders()
    headers.add(name: ":status", value: "200")
    headers.add(name: "content-type", value: file.contentType)
    headers.add(name: "cache-control", value: "no-cache")
    headers.add(name: "x-content-type-options", value: "nosniff")
    headers.add(name: "content-length", value: String(file.bytes.readableBytes))
    if self.fields.method == "HEAD" {
      return .reject(headers)
    }
    return .respond(headers, file.bytes)
  }

  /// A plain-text answer with HTTP status `status`.
  static func plain(_ status: Int, _ text: String) -> RequestHead.Check {
    var headers = HPACKHeaders()
    headers.add(name: ":status", value: String(status))
    headers.add(name: "content-type", value: "text/plain; charset=utf-8")
    let body = ByteBuffer(string: text + "\n")
    headers.add(name: "content-length", value: String(body.readableBytes))
    return .respond(headers, body)
  }

  // MARK: Calls

  /// A POSTed gRPC-Web or Connect call.
  private func call(
    path: Substring,
    knownMethods: [String: MethodDescriptor],
    compression: [CompressionMethod]
  ) -> RequestHead.Check {
    guard let contentType = self.fields.contentType,
      let wire = WireProtocol.named(contentType: contentType)
    else {
      return Self.plain(
        415,
        "Content type \(self.fields.contentType.map { "'\($0)'" } ?? "(none)") is not one this "
          + "server speaks: application/grpc, application/grpc-web(-text), application/json, "
          + "application/proto, application/connect+json, application/connect+proto."
      )
    }
    let response = WebResponse(
      wire: wire,
      extraHeaders: self.corsHeaders,
      json: nil,
      requestContentType: contentType
    )
    if wire == .grpc {
      // gRPC itself over HTTP/1.1 (the only way here): it needs HTTP/2's trailers.
      return Self.plain(505, "gRPC needs HTTP/2; browsers can use gRPC-Web or Connect.")
    }
    guard let method = self.connection.settings.methods[String(path)],
      let descriptor = knownMethods[String(path)]
    else {
      return response.rejection(
        Status(code: .unimplemented, message: "\(path) is not a method a browser can call."),
        httpStatus: 404
      )
    }
    if let refusal = self.refusal(of: wire, for: method) {
      return response.rejection(refusal, httpStatus: nil)
    }
    if wire.isJSON, method.json == nil {
      return Self.plain(415, "\(path) speaks protobuf only, not JSON.")
    }
    let timeout: Duration?
    let requestCompression: CompressionMethod?
    var responseCompression: CompressionMethod?
    switch wire {
    case .grpc, .grpcWeb:
      timeout = self.fields.timeout
      switch RequestHead.requestCompression(self.fields.encodings, accepted: compression) {
      case .success(let method): requestCompression = method
      case .failure(let rejection): return response.rejection(rejection.status, httpStatus: nil)
      }
      responseCompression = RequestHead.responseCompression(
        self.fields.acceptEncodings,
        accepted: compression
      )
    case .connectUnary, .connectStream:
      timeout = self.fields.connectTimeout
      let encoding =
        wire.isEnveloped ? self.fields.connectContentEncoding : self.fields.contentEncoding
      switch Self.connectCompression(encoding, accepted: compression) {
      case .success(let method): requestCompression = method
      case .failure(let failure): return response.rejection(failure.status, httpStatus: nil)
      }
      responseCompression = nil
    }
    return .accept(
      RequestHead(
        descriptor: descriptor,
        metadata: self.fields.metadata,
        timeout: timeout,
        requestCompression: requestCompression,
        responseCompression: responseCompression,
        web: WebResponse(
          wire: wire,
          extraHeaders: self.corsHeaders,
          json: method.json,
          requestContentType: contentType
        )
      )
    )
  }

  /// Why `wire` cannot carry a call of `method` here, if it cannot.
  private func refusal(
    of wire: WireProtocol,
    for method: StorefrontServerTransport.Method
  ) -> Status? {
    switch (wire, method.kind) {
    case (.connectUnary, .unary), (.grpcWeb, .unary), (.connectStream, .serverStreaming),
      (.connectStream, .clientStreaming), (.grpcWeb, .serverStreaming),
      (.grpcWeb, .clientStreaming):
      return nil
    case (.connectUnary, _):
      return Status(
        code: .unimplemented,
        message: "A streaming method takes application/connect+json or application/connect+proto."
      )
    case (.connectStream, .unary):
      return Status(
        code: .unimplemented,
        message: "A unary method takes application/json or application/proto."
      )
    case (_, .bidirectionalStreaming):
      guard self.connection.isHTTP1 else { return nil }
      return Status(
        code: .unimplemented,
        message: "Bidirectional streaming needs HTTP/2; this request came over HTTP/1.1."
      )
    case (.grpc, _):
      return nil
    }
  }

  /// The compression a Connect request names (`content-encoding` for unary,
  /// `connect-content-encoding` for streaming).
  private static func connectCompression(
    _ encoding: Substring?,
    accepted compression: [CompressionMethod]
  ) -> Result<CompressionMethod?, InboundError> {
    guard let encoding, encoding != "identity" else { return .success(nil) }
    guard let method = CompressionMethod(rawValue: String(encoding)), compression.contains(method)
    else {
      let names = (["identity"] + compression.map(\.name)).joined(separator: ", ")
      return .failure(
        InboundError(
          status: Status(
            code: .unimplemented,
            message: "\(encoding) compression is not supported; this server takes \(names)."
          )
        )
      )
    }
    return .success(method)
  }

  // MARK: Connect GET

  /// A Connect unary call by GET: `?encoding=json|proto&message=...[&base64=1]`, for methods
  /// without side effects only.
  private func connectGET(
    path: Substring,
    target: Substring,
    knownMethods: [String: MethodDescriptor]
  ) -> RequestHead.Check {
    let query = Self.queryItems(target)
    let json = query["encoding"] != "proto"
    let wire = WireProtocol.connectUnary(json: json)
    let response = WebResponse(wire: wire, extraHeaders: self.corsHeaders, json: nil)
    guard let method = self.connection.settings.methods[String(path)],
      let descriptor = knownMethods[String(path)], method.kind == .unary, method.allowsGET
    else {
      var headers = HPACKHeaders()
      headers.add(name: ":status", value: "405")
      headers.add(name: "allow", value: "POST")
      headers.add(name: "content-type", value: "application/json")
      let body = ByteBuffer(
        string: ConnectError.json(
          status: Status(code: .unimplemented, message: "\(path) has side effects: POST it."),
          metadata: [:]
        )
      )
      return .respond(headers, body)
    }
    guard let encoding = query["encoding"], encoding == "json" || encoding == "proto",
      let text = query["message"]
    else {
      return response.rejection(
        Status(
          code: .invalidArgument,
          message: "A Connect GET needs encoding=json|proto and message=... in its query."
        ),
        httpStatus: nil
      )
    }
    let bytes: [UInt8]
    if query["base64"] == "1" {
      guard let decoded = Base64.decode(text, urlSafe: true) else {
        return response.rejection(
          Status(code: .invalidArgument, message: "message is not base64url."),
          httpStatus: nil
        )
      }
      bytes = decoded
    } else {
      bytes = Array(text.utf8)
    }
    guard json ? method.json != nil : true else {
      return Self.plain(415, "\(path) speaks protobuf only, not JSON.")
    }
    return .accept(
      RequestHead(
        descriptor: descriptor,
        metadata: self.fields.metadata,
        timeout: self.fields.connectTimeout,
        requestCompression: nil,
        responseCompression: nil,
        web: WebResponse(wire: wire, extraHeaders: self.corsHeaders, json: method.json),
        body: ByteBuffer(bytes: bytes)
      )
    )
  }

  /// The query of `target` (`/path?a=1&b=2`), percent-decoded, `+` as a space.
  static func queryItems(_ target: Substring) -> [String: String] {
    guard let question = target.firstIndex(of: "?") else { return [:] }
    var items: [String: String] = [:]
    for pair in target[target.index(after: question)...].split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard let name = Self.percentDecoded(parts[0]) else { continue }
      items[name] = parts.count > 1 ? Self.percentDecoded(parts[1]) : ""
    }
    return items
  }

  private static func percentDecoded(_ text: Substring) -> String? {
    var out: [UInt8] = []
    var bytes = text.utf8.makeIterator()
    while let byte = bytes.next() {
      switch byte {
      case UInt8(ascii: "+"): out.append(UInt8(ascii: " "))
      case UInt8(ascii: "%"):
        guard let high = bytes.next().flatMap(Self.hexValue),
          let low = bytes.next().flatMap(Self.hexValue)
        else { return nil }
        out.append(high << 4 | low)
      default: out.append(byte)
      }
    }
    return String(validating: out, as: UTF8.self)
  }

  private static func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0") ... UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a") ... UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A") ... UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}

extension WebResponse {
  /// A call refused before it runs, answered as its protocol answers errors: gRPC-Web
  /// trailers-only, a Connect unary error (HTTP status `httpStatus`, or the code's), or a
  /// Connect stream that holds only its end.
  func rejection(_ status: Status, httpStatus: Int?) -> RequestHead.Check {
    switch self.wire {
    case .grpc, .grpcWeb:
      return .reject(self.grpcWebTrailersOnly(status: status, metadata: [:]))
    case .connectUnary:
      let (answer, body) = self.connectUnary(
        status: status,
        leading: [:],
        trailing: [:],
        message: nil
      )
      var headers = answer
      if let httpStatus {
        headers.replaceOrAdd(name: ":status", value: String(httpStatus))
      }
      return .respond(headers, body)
    case .connectStream:
      return .respond(
        self.headers(metadata: [:], compression: nil),
        self.connectEndOfStream(status: status, metadata: [:])
      )
    }
  }
}
