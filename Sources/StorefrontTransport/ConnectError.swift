import GRPCCore
import NIOCore

/// The Connect protocol's errors: code names, HTTP statuses and the error's JSON.
enum ConnectError {
  /// The metadata key of gRPC's rich status (a `google.rpc.Status`, whose details become the
  /// JSON error's `details`).
  static let detailsKey = "grpc-status-details-bin"

  /// Connect's name of `code`.
  static func name(_ code: Status.Code) -> String {
    switch code {
    case .ok: "ok"
    case .cancelled: "canceled"
    case .unknown: "unknown"
    case .invalidArgument: "invalid_argument"
    case .deadlineExceeded: "deadline_exceeded"
    case .notFound: "not_found"
    case .alreadyExists: "already_exists"
    case .permissionDenied: "permission_denied"
    case .resourceExhausted: "resource_exhausted"
    case .failedPrecondition: "failed_precondition"
    case .aborted: "aborted"
    case .outOfRange: "out_of_range"
    case .unimplemented: "unimplemented"
    case .internalError: "internal"
    case .unavailable: "unavailable"
    case .dataLoss: "data_loss"
    case .unauthenticated: "unauthenticated"
    default: "unknown"
    }
  }

  /// The HTTP status of a unary error (the Connect protocol's table).
  static func httpStatus(_ code: Status.Code) -> Int {
    switch code {
    case .ok: 200
    case .cancelled: 499
    case .invalidArgument, .failedPrecondition, .outOfRange: 400
    case .deadlineExceeded: 504
    case .notFound: 404
    case .alreadyExists, .aborted: 409
    case .permissionDenied: 403
    case .resourceExhausted: 429
    case .unimplemented: 501
    case .unavailable: 503
    case .unauthenticated: 401
    default: 500
    }
  }

  /// The error's JSON: `code`, `message` and, from a rich status in `metadata`, `details`
  /// (each `type` and its protobuf `value` in unpadded base64).
  static func json(status: Status, metadata: Metadata) -> String {
    var fields = ["\"code\":" + JSONText.quote(Self.name(status.code))]
    if !status.message.isEmpty {
      fields.append("\"message\":" + JSONText.quote(status.message))
    }
    var details: [RichStatus.Detail] = []
    for status in metadata[binaryValues: Self.detailsKey] {
      details += RichStatus.details(of: status)
    }
    if !details.isEmpty {
      let entries = details.map { detail in
        "{\"type\":" + JSONText.quote(detail.type) + ",\"value\":"
          + JSONText.quote(Base64.encode(detail.value, padded: false)) + "}"
      }
      fields.append("\"details\":[" + entries.joined(separator: ",") + "]")
    }
    return "{" + fields.joined(separator: ",") + "}"
  }
}

/// The details of a `google.rpc.Status` read from its protobuf encoding: field 3 holds
/// `google.protobuf.Any`s, each a type URL (1) and a value (2). The transport has no
/// generated types; these two messages are all it reads.
enum RichStatus {
  struct Detail {
    /// The message's full name (`google.rpc.BadRequest`), the type URL without its host.
    var type: String
    var value: [UInt8]
  }

  static func details(of status: [UInt8]) -> [Detail] {
    var details: [Detail] = []
    for (field, bytes) in Self.lengthDelimitedFields(status[...]) where field == 3 {
      var type = ""
      var value: [UInt8] = []
      for (anyField, anyBytes) in Self.lengthDelimitedFields(bytes) {
        if anyField == 1 {
          let url = String(decoding: anyBytes, as: UTF8.self)
          type = url.split(separator: "/").last.map(String.init) ?? url
        } else if anyField == 2 {
          value = Array(anyBytes)
        }
      }
      details.append(Detail(type: type, value: value))
    }
    return details
  }

  /// The length-delimited fields of a message (number and bytes); other wire types are
  /// skipped; reading stops at the first malformed field.
  private static func lengthDelimitedFields(
    _ bytes: ArraySlice<UInt8>
  ) -> [(Int, ArraySlice<UInt8>)] {
    var fields: [(Int, ArraySlice<UInt8>)] = []
    var index = bytes.startIndex
    func varint() -> UInt64? {
      var value: UInt64 = 0
      var shift: UInt64 = 0
      while index < bytes.endIndex, shift < 64 {
        let byte = bytes[index]
        index += 1
        value |= UInt64(byte & 0x7F) << shift
        if byte & 0x80 == 0 { return value }
        shift += 7
      }
      return nil
    }
    while index < bytes.endIndex, let key = varint() {
      switch key & 7 {
      case 0: guard varint() != nil else { return fields }
      case 1: index += 8
      case 5: index += 4
      case 2:
        guard let length = varint(), length <= UInt64(bytes.endIndex - index) else { return fields }
        let end = index + Int(length)
        fields.append((Int(key >> 3), bytes[index ..< end]))
        index = end
      default: return fields
      }
    }
    return fields
  }
}

/// JSON text for the few values the transport writes itself.
enum JSONText {
  /// `text` as a JSON string.
  static func quote(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          out +=
            "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
            + String(scalar.value, radix: 16)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
