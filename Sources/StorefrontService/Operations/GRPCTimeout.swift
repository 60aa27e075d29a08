/// A `grpc-timeout` header value: gRPC's grammar is 1 to 8 ASCII digits, then one of
/// H M S m u n (hours, minutes, seconds, milli-, micro-, nanoseconds).
struct GRPCTimeout: Hashable, Sendable {
  /// The header's name.
  static let headerName = "grpc-timeout"

  /// How long the client gives the call.
  let duration: Duration

  /// Parses a header value; nil when it does not follow the grammar.
  init?(headerValue value: String) {
    let digits = value.utf8.dropLast()
    guard let unit = value.last, (1 ... 8).contains(digits.count),
      digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }),
      let amount = Int64(String(value.dropLast()))
    else { return nil }
    switch unit {
    case "H": self.duration = .seconds(amount * 3_600)
    case "M": self.duration = .seconds(amount * 60)
    case "S": self.duration = .seconds(amount)
    case "m": self.duration = .milliseconds(amount)
    case "u": self.duration = .microseconds(amount)
    case "n": self.duration = .nanoseconds(amount)
    default: return nil
    }
  }
}
