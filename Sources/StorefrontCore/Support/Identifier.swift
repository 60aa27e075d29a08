public import Foundation
import Synchronization

/// Makes opaque identifiers that sort by creation time: a prefix, 48 bits of milliseconds
/// and 80 random bits in Crockford base 32 (as a ULID).
public enum Identifier {
  private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

  /// A new identifier such as `p_01jbx0f6d4k1q9w7m3s2r8t5vn`.
  public static func make(prefix: String, now: Date = Date()) -> String {
    var generator = SystemRandomNumberGenerator()
    return Self.encode(
      prefix: prefix,
      millis: UInt64(max(0, now.timeIntervalSince1970 * 1000)),
      high: UInt16.random(in: .min ... .max, using: &generator),
      low: UInt64.random(in: .min ... .max, using: &generator)
    )
  }

  /// A new identifier for a request, of the same shape as ``make(prefix:now:)``, from a
  /// generator seeded once per process rather than a system call per id: unique within the
  /// process and hard to guess, but not for secrets. Request ids are made for every call.
  public static func makeRequestID(prefix: String = "req") -> String {
    let millis = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    let count = Self.requestCounter.wrappingAdd(1, ordering: .relaxed).oldValue
    var mixer = SplitMix64(seed: Self.requestSeed &+ count &* 0x9E37_79B9_7F4A_7C15)
    return Self.encode(
      prefix: prefix,
      millis: millis,
      high: UInt16(truncatingIfNeeded: mixer.next()),
      low: mixer.next()
    )
  }

  private static let requestSeed = UInt64.random(in: .min ... .max)
  private static let requestCounter = Atomic<UInt64>(0)

  /// `prefix_`, then 48 bits of milliseconds and 80 bits of `high` and `low` in Crockford
  /// base 32.
  private static func encode(prefix: String, millis: UInt64, high: UInt16, low: UInt64) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(26)
    // 48 bits of time as 10 characters (the top 2 bits are zero).
    for shift in stride(from: 45, through: 0, by: -5) {
      bytes.append(Self.alphabet[Int((millis >> UInt64(shift)) & 31)])
    }
    // 80 random bits as 16 characters.
    for index in 0 ..< 16 {
      let bit = 79 - index * 5 - 4
      let value: UInt64
      if bit >= 64 {
        value = UInt64(high >> UInt16(bit - 64)) & 31
      } else if bit + 5 > 64 {
        value = ((UInt64(high) << UInt64(64 - bit)) | (low >> UInt64(bit))) & 31
      } else {
        value = (low >> UInt64(bit)) & 31
      }
      bytes.append(Self.alphabet[Int(value)])
    }
    return prefix + "_" + String(decoding: bytes, as: UTF8.self)
  }

  /// A new etag: 16 random hex characters.
  public static func makeETag() -> String {
    var generator = SystemRandomNumberGenerator()
    let value = UInt64.random(in: .min ... .max, using: &generator)
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
  }
}
