import GRPCCore
import NIOHPACK

/// What a request's HEADERS say once checked: the method, the metadata the RPC sees, the
/// timeout and the compression of each direction.
struct RequestHead {
  var descriptor: MethodDescriptor
  var metadata: Metadata
  /// The call's `grpc-timeout`, when it had a well-formed one.
  var timeout: Duration?
  /// How the client compresses its messages; nil: it does not.
  var requestCompression: CompressionMethod?
  /// How the server compresses its messages; nil: it does not.
  var responseCompression: CompressionMethod?

  /// The outcome of checking a request's HEADERS.
  enum Check {
    case accept(RequestHead)
    /// Answer with these headers (a trailers-only response or a bare HTTP status) and end.
    case reject(HPACKHeaders)
  }

  /// Checks `headers` as gRPC over HTTP/2 asks: content type, method, scheme, path and
  /// encoding, then builds the metadata. A malformed `grpc-timeout` is left out, so that no
  /// part of the server ever parses it (grpc-swift-2 2.4.3 traps on a negative one).
  /// - Parameters:
  ///   - knownMethods: the server's methods by path, so that their descriptors are shared.
  ///   - compression: the encodings the server accepts.
  static func check(
    _ headers: HPACKHeaders,
    knownMethods: [String: MethodDescriptor],
    compression: [CompressionMethod]
  ) -> Check {
    var contentType: Substring?
    var method: Substring?
    var scheme: Substring?
    var path: Substring?
    var encodings: [Substring] = []
    var acceptEncodings: [Substring] = []
    var timeout: Duration?
    var metadata = Metadata()
    metadata.reserveCapacity(headers.count)
    for (name, value, _) in headers {
      if name.utf8.first == UInt8(ascii: ":") {
        switch name {
        case ":method": method = Substring(value)
        case ":scheme": scheme = Substring(value)
        case ":path": path = Substring(value)
        default: break
        }
        continue
      }
      switch name {
      case "content-type": contentType = Substring(value)
      case "grpc-encoding": encodings.append(Substring(value))
      case "grpc-accept-encoding":
        acceptEncodings += value.split(separator: ",").map { $0.trimmingSpaces }
      case "grpc-timeout":
        guard let duration = GRPCTimeout.duration(of: Substring(value)) else { continue }
        timeout = duration
      default: break
      }
      if name.hasSuffix("-bin") {
        if let bytes = Base64.decode(value) {
          metadata.addBinary(bytes, forKey: name)
        } else {
          metadata.addString(value, forKey: name)
        }
      } else {
        metadata.addString(value, forKey: name)
      }
    }

    guard let contentType, Self.isGRPC(contentType: contentType) else {
      var response = HPACKHeaders()
      response.add(name: ":status", value: "415")
      return .reject(response)
    }
    guard let path else {
      return .reject(.trailersOnly(.invalidArgument, "No :path header has been set."))
    }
    guard scheme == "http" || scheme == "https" else {
      return .reject(
        .trailersOnly(.invalidArgument, ":scheme must be present and be \"http\" or \"https\".")
      )
    }
    guard method == "POST" else {
      return .reject(.trailersOnly(.invalidArgument, ":method must be present and be \"POST\"."))
    }
    guard let descriptor = knownMethods[String(path)] ?? Self.descriptor(path: path) else {
      return .reject(
        .trailersOnly(.unimplemented, "Requested RPC isn't implemented by this server.")
      )
    }

    var requestCompression: CompressionMethod?
    if let encoding = encodings.first {
      guard encodings.count == 1 else {
        return .reject(.trailersOnly(.internalError, "grpc-encoding must have one value at most."))
      }
      if encoding != "identity" {
        guard let method = CompressionMethod(rawValue: String(encoding)),
          compression.contains(method)
        else {
          var response = HPACKHeaders.trailersOnly(
            .unimplemented,
            "\(encoding) compression is not supported; supported algorithms are listed in "
              + "grpc-accept-encoding"
          )
          response.add(
            name: "grpc-accept-encoding",
            value: (["identity"] + compression.map(\.name)).joined(separator: ",")
          )
          return .reject(response)
        }
        requestCompression = method
      }
    }
    let responseCompression = acceptEncodings.lazy.compactMap {
      CompressionMethod(rawValue: String($0))
    }.first { compression.contains($0) }

    return .accept(
      RequestHead(
        descriptor: descriptor,
        metadata: metadata,
        timeout: timeout,
        requestCompression: requestCompression,
        responseCompression: responseCompression
      )
    )
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

extension Substring {
  /// The text without leading and trailing spaces and tabs.
  fileprivate var trimmingSpaces: Substring {
    var text = self
    while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
    while let last = text.last, last == " " || last == "\t" { text.removeLast() }
    return text
  }
}
