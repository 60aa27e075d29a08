import GRPCCore
import NIOHPACK

extension HPACKHeaders {
  /// A trailers-only response: HTTP 200, gRPC's content type and the status.
  static func trailersOnly(_ code: Status.Code, _ message: String) -> HPACKHeaders {
    var headers = HPACKHeaders()
    headers.formTrailers(status: Status(code: code, message: message), metadata: [:], only: true)
    return headers
  }

  /// The response headers: HTTP 200, gRPC's content type, the response encoding and `metadata`.
  static func responseHeaders(
    metadata: Metadata,
    compression: CompressionMethod?
  ) -> HPACKHeaders {
    var headers = HPACKHeaders()
    headers.reserveCapacity(3 + metadata.count)
    headers.add(name: ":status", value: "200")
    headers.add(name: "content-type", value: "application/grpc")
    if let compression {
      headers.add(name: "grpc-encoding", value: compression.name)
    }
    headers.add(metadata: metadata)
    return headers
  }

  /// Trailers carrying `status` and `metadata`; `only` makes them a trailers-only response (the
  /// server sent no headers before).
  mutating func formTrailers(status: Status, metadata: Metadata, only: Bool) {
    self.reserveCapacity(4 + metadata.count)
    if only {
      self.add(name: ":status", value: "200")
      self.add(name: "content-type", value: "application/grpc")
    }
    self.add(name: "grpc-status", value: String(status.code.rawValue))
    if !status.message.isEmpty {
      self.add(name: "grpc-message", value: StatusMessage.percentEncoded(status.message))
    }
    self.add(metadata: metadata)
  }

  /// Adds custom metadata: names in lower case, binary values in base64. Reserved names that a
  /// handler must not set (pseudo-headers and HTTP/2's connection headers) are left out.
  mutating func add(metadata: Metadata) {
    Self.forEachField(of: metadata) { name, value in
      self.add(name: name, value: value)
    }
  }

  /// Calls `body` with each field of `metadata` as a header: its name in lower case, a binary
  /// value in base64; the names a handler must not set (pseudo-headers, HTTP/2's connection
  /// headers) are left out.
  static func forEachField(of metadata: Metadata, _ body: (String, String) -> Void) {
    for (key, value) in metadata {
      let name = key.lowercased()
      guard !name.hasPrefix(":"), !Self.connectionHeaders.contains(name) else { continue }
      switch value {
      case .string(let text): body(name, text)
      case .binary(let bytes): body(name, Base64.encode(bytes))
      }
    }
  }

  /// Headers HTTP/2 forbids in a message (RFC 9113 8.2.2).
  private static let connectionHeaders: Set<String> = [
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
  ]
}

/// `grpc-message`'s percent-encoding (gRPC over HTTP/2, "Responses").
enum StatusMessage {
  /// `message` with every byte outside printable ASCII, and `%`, as `%XX`.
  static func percentEncoded(_ message: String) -> String {
    let utf8 = message.utf8
    guard utf8.contains(where: { $0 < 0x20 || $0 > 0x7E || $0 == UInt8(ascii: "%") }) else {
      return message
    }
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count * 3)
    for byte in utf8 {
      if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
        out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
      } else {
        out.append(byte)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
