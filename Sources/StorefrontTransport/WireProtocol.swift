import GRPCCore
import NIOCore
import NIOHPACK

/// The protocol a call speaks: gRPC, or one of the two a browser can speak. All three carry
/// the same messages to the same handlers; they differ in how a body frames them, where the
/// status goes and what a response's headers say.
enum WireProtocol: Equatable {
  /// gRPC over HTTP/2: enveloped messages, the status in HTTP trailers.
  case grpc
  /// gRPC-Web: enveloped messages, the status in a last envelope (flag 0x80) of the body;
  /// `text`: the body in base64.
  case grpcWeb(text: Bool)
  /// Connect unary: the body is the message, the status is the HTTP status, an error is JSON.
  case connectUnary(json: Bool)
  /// Connect streaming: enveloped messages, the status in a last envelope (flag 0x02) of JSON.
  case connectStream(json: Bool)

  /// Whether messages are JSON (converted to and from protobuf by the method's codec).
  var isJSON: Bool {
    switch self {
    case .grpc, .grpcWeb: false
    case .connectUnary(let json), .connectStream(let json): json
    }
  }

  /// Whether the call speaks Connect.
  var isConnect: Bool {
    switch self {
    case .connectUnary, .connectStream: true
    case .grpc, .grpcWeb: false
    }
  }

  /// The protocol a request's content type names, if any the server speaks.
  static func named(contentType: Substring) -> WireProtocol? {
    let type = contentType.split(separator: ";", maxSplits: 1).first?.trimmingSpaces ?? ""
    switch type.lowercased() {
    case "application/grpc", "application/grpc+proto": return .grpc
    case "application/grpc-web", "application/grpc-web+proto": return .grpcWeb(text: false)
    case "application/grpc-web-text", "application/grpc-web-text+proto": return .grpcWeb(text: true)
    case "application/json": return .connectUnary(json: true)
    case "application/proto": return .connectUnary(json: false)
    case "application/connect+json": return .connectStream(json: true)
    case "application/connect+proto": return .connectStream(json: false)
    default: return nil
    }
  }

  /// The content type of responses.
  var responseContentType: String {
    switch self {
    case .grpc: "application/grpc"
    case .grpcWeb(let text): text ? "application/grpc-web-text+proto" : "application/grpc-web+proto"
    case .connectUnary(let json): json ? "application/json" : "application/proto"
    case .connectStream(let json): json ? "application/connect+json" : "application/connect+proto"
    }
  }

  /// Whether a request's body is a sequence of envelopes (not one bare message).
  var isEnveloped: Bool {
    if case .connectUnary = self { return false }
    return true
  }
}

/// How one web call's response is written: the protocol, the headers every response of it
/// carries (CORS), and the method's JSON codec.
struct WebResponse {
  let wire: WireProtocol
  /// The responses' content type: gRPC-Web answers in the request's own spelling
  /// (`application/grpc-web` or `application/grpc-web+proto`).
  let contentType: String
  /// Headers added to the response's first HEADERS (CORS, for a cross-origin caller).
  let extraHeaders: [(String, String)]
  let json: StorefrontServerTransport.JSONCodec?

  init(
    wire: WireProtocol,
    extraHeaders: [(String, String)],
    json: StorefrontServerTransport.JSONCodec?,
    requestContentType: Substring? = nil
  ) {
    self.wire = wire
    self.extraHeaders = extraHeaders
    self.json = json
    let requested = requestContentType?.split(separator: ";", maxSplits: 1).first?.trimmingSpaces
    if case .grpcWeb = wire, let requested {
      self.contentType = requested.lowercased()
    } else {
      self.contentType = wire.responseContentType
    }
  }

  /// The response headers of a gRPC-Web or Connect streaming response.
  func headers(metadata: Metadata, compression: CompressionMethod?) -> HPACKHeaders {
    var headers = HPACKHeaders()
    headers.add(name: ":status", value: "200")
    headers.add(name: "content-type", value: self.contentType)
    if let compression, case .grpcWeb = self.wire {
      headers.add(name: "grpc-encoding", value: compression.name)
    }
    self.addExtra(to: &headers, exposing: metadata)
    headers.add(metadata: metadata)
    return headers
  }

  /// A gRPC-Web response with nothing but a status: in the HTTP headers, with an empty body.
  func grpcWebTrailersOnly(status: Status, metadata: Metadata) -> HPACKHeaders {
    var headers = HPACKHeaders()
    headers.add(name: ":status", value: "200")
    headers.add(name: "content-type", value: self.contentType)
    self.addExtra(to: &headers, exposing: metadata)
    headers.formTrailers(status: status, metadata: metadata, only: false)
    return headers
  }

  /// gRPC-Web's trailers envelope (flag 0x80): the status and metadata as HTTP/1 header lines.
  func grpcWebTrailers(status: Status, metadata: Metadata) -> ByteBuffer {
    var lines = "grpc-status:\(status.code.rawValue)\r\n"
    if !status.message.isEmpty {
      lines += "grpc-message:\(StatusMessage.percentEncoded(status.message))\r\n"
    }
    HPACKHeaders.forEachField(of: metadata) { name, value in
      lines += "\(name):\(value)\r\n"
    }
    return Envelope.wrap(ByteBuffer(string: lines), flag: 0x80)
  }

  /// Connect's end-of-stream envelope (flag 0x02): the error, if any, and the trailing
  /// metadata, in JSON.
  func connectEndOfStream(status: Status, metadata: Metadata) -> ByteBuffer {
    var fields: [String] = []
    if status.code != .ok {
      fields.append("\"error\":" + ConnectError.json(status: status, metadata: metadata))
    }
    var byName: [(String, [String])] = []
    HPACKHeaders.forEachField(of: metadata) { name, value in
      guard name != ConnectError.detailsKey else { return }
      if let index = byName.firstIndex(where: { $0.0 == name }) {
        byName[index].1.append(value)
      } else {
        byName.append((name, [value]))
      }
    }
    if !byName.isEmpty {
      let entries = byName.map { name, values in
        JSONText.quote(name) + ":[" + values.map(JSONText.quote).joined(separator: ",") + "]"
      }
      fields.append("\"metadata\":{" + entries.joined(separator: ",") + "}")
    }
    return Envelope.wrap(ByteBuffer(string: "{" + fields.joined(separator: ",") + "}"), flag: 0x02)
  }

  /// A whole Connect unary response: its headers and body. Success: 200 and the message, the
  /// leading metadata as headers and the trailing as `trailer-` headers; an error: its HTTP
  /// status and the error's JSON.
  func connectUnary(
    status: Status,
    leading: Metadata,
    trailing: Metadata,
    message: ByteBuffer?
  ) -> (HPACKHeaders, ByteBuffer) {
    var headers = HPACKHeaders()
    let body: ByteBuffer
    if status.code == .ok, let message {
      headers.add(name: ":status", value: "200")
      headers.add(name: "content-type", value: self.contentType)
      body = message
    } else {
      let failure =
        status.code == .ok
        ? Status(code: .internalError, message: "The unary call answered no message.") : status
      headers.add(name: ":status", value: String(ConnectError.httpStatus(failure.code)))
      headers.add(name: "content-type", value: "application/json")
      body = ByteBuffer(string: ConnectError.json(status: failure, metadata: trailing))
    }
    var exposed = leading
    for (key, value) in trailing where key != ConnectError.detailsKey {
      exposed.add(contentsOf: CollectionOfOne((key: "trailer-" + key, value: value)))
    }
    self.addExtra(to: &headers, exposing: exposed)
    headers.add(metadata: exposed)
    headers.add(name: "content-length", value: String(body.readableBytes))
    return (headers, body)
  }

  /// The CORS headers, and the names of `metadata` exposed to the page's script.
  private func addExtra(to headers: inout HPACKHeaders, exposing metadata: Metadata) {
    for (name, value) in self.extraHeaders {
      if name == "access-control-expose-headers" {
        let names = Set(metadata.map { $0.key.lowercased() })
        headers.add(name: name, value: ([value] + names.sorted()).joined(separator: ", "))
      } else {
        headers.add(name: name, value: value)
      }
    }
  }
}

/// gRPC's and Connect's envelope: a flag byte, a four-byte big-endian length, the payload.
enum Envelope {
  static func wrap(_ payload: ByteBuffer, flag: UInt8) -> ByteBuffer {
    var framed = ByteBuffer()
    framed.reserveCapacity(5 + payload.readableBytes)
    framed.writeInteger(flag)
    framed.writeInteger(UInt32(payload.readableBytes))
    framed.writeImmutableBuffer(payload)
    return framed
  }
}

extension Substring {
  /// The text without leading and trailing spaces and tabs.
  var trimmingSpaces: Substring {
    var text = self
    while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
    while let last = text.last, last == " " || last == "\t" { text.removeLast() }
    return text
  }
}
