/// gRPC's `grpc-timeout` header: `TimeoutValue TimeoutUnit`, one to eight ASCII digits then one
/// of `H M S m u n` (gRPC over HTTP/2, "Requests").
enum GRPCTimeout {
  /// The timeout `value` names, or nil when it does not follow the grammar (a sign, a space, a
  /// fraction, nine digits, a lower-case `s` ...).
  static func duration(of value: Substring) -> Duration? {
    let utf8 = value.utf8
    guard utf8.count >= 2, utf8.count <= 9, let unit = utf8.last else { return nil }
    var amount: Int64 = 0
    for byte in utf8.dropLast() {
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
    }
    switch unit {
    case UInt8(ascii: "H"): return .seconds(amount * 3_600)
    case UInt8(ascii: "M"): return .seconds(amount * 60)
    case UInt8(ascii: "S"): return .seconds(amount)
    case UInt8(ascii: "m"): return .milliseconds(amount)
    case UInt8(ascii: "u"): return .microseconds(amount)
    case UInt8(ascii: "n"): return .nanoseconds(amount)
    default: return nil
    }
  }
}
