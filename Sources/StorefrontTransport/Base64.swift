/// Base64 for binary metadata (`-bin` headers). gRPC sends it padded and must accept it either
/// way (gRPC over HTTP/2, "Custom-Metadata").
enum Base64 {
  private static let alphabet = Array(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8
  )

  /// The value of each base64 digit by its ASCII code; 0xFF for anything else.
  private static let values: [UInt8] = {
    var values = [UInt8](repeating: 0xFF, count: 256)
    for (index, digit) in Self.alphabet.enumerated() {
      values[Int(digit)] = UInt8(index)
    }
    return values
  }()

  /// `bytes` in base64, padded unless `padded` is false.
  static func encode(_ bytes: some Collection<UInt8>, padded: Bool = true) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var iterator = bytes.makeIterator()
    while let first = iterator.next() {
      let second = iterator.next()
      let third = second == nil ? nil : iterator.next()
      let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
      out.append(Self.alphabet[Int(group >> 18 & 0x3F)])
      out.append(Self.alphabet[Int(group >> 12 & 0x3F)])
      out.append(second == nil ? UInt8(ascii: "=") : Self.alphabet[Int(group >> 6 & 0x3F)])
      out.append(third == nil ? UInt8(ascii: "=") : Self.alphabet[Int(group & 0x3F)])
    }
    if !padded {
      while out.last == UInt8(ascii: "=") { out.removeLast() }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The bytes of padded or unpadded base64 `text`; nil when it is not base64. With `urlSafe`,
  /// the URL alphabet's `-` and `_` stand for `+` and `/`.
  static func decode(_ text: some StringProtocol, urlSafe: Bool = false) -> [UInt8]? {
    var digits = Array(text.utf8)
    if urlSafe {
      for index in digits.indices {
        if digits[index] == UInt8(ascii: "-") { digits[index] = UInt8(ascii: "+") }
        if digits[index] == UInt8(ascii: "_") { digits[index] = UInt8(ascii: "/") }
      }
    }
    return Self.decode(digits: digits)
  }

  /// The bytes of a body of base64 chunks, each padded or not (gRPC-Web's text mode pads
  /// every write): `digits` is a whole number of four-digit groups, a group may end in `=`.
  static func decode(groups digits: ArraySlice<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(digits.count * 3 / 4)
    var start = digits.startIndex
    while start < digits.endIndex {
      // A run of groups ends with the first group that has padding, or with the body.
      var end = digits.endIndex
      if let pad = digits[start...].firstIndex(of: UInt8(ascii: "=")) {
        end = min(start + ((pad - start) / 4 + 1) * 4, digits.endIndex)
      }
      guard let bytes = Self.decode(digits: Array(digits[start ..< end])) else { return nil }
      out += bytes
      start = end
    }
    return out
  }

  /// The bytes of base64 digits, padding ignored at the end.
  private static func decode(digits: [UInt8]) -> [UInt8]? {
    var digits = digits
    while digits.last == UInt8(ascii: "=") { digits.removeLast() }
    guard digits.count % 4 != 1 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count * 3 / 4)
    var group: UInt32 = 0
    var count = 0
    for digit in digits {
      let value = Self.values[Int(digit)]
      guard value != 0xFF else { return nil }
      group = group << 6 | UInt32(value)
      count += 1
      if count == 4 {
        out.append(UInt8(group >> 16 & 0xFF))
        out.append(UInt8(group >> 8 & 0xFF))
        out.append(UInt8(group & 0xFF))
        group = 0
        count = 0
      }
    }
    switch count {
    case 2: out.append(UInt8(group >> 4 & 0xFF))
    case 3:
      out.append(UInt8(group >> 10 & 0xFF))
      out.append(UInt8(group >> 2 & 0xFF))
    default: break
    }
    return out
  }
}
