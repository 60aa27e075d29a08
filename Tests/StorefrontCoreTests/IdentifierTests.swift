import Foundation
import StorefrontCore
import Testing

@Suite("Identifier")
struct IdentifierTests {
  static let alphabet = Set("0123456789abcdefghjkmnpqrstvwxyz")

  @Test(
    "make puts the prefix and an underscore before 26 Crockford base-32 characters",
    arguments: ["p", "img", "upload"]
  )
  func shape(_ prefix: String) {
    let id = Identifier.make(prefix: prefix)
    #expect(id.hasPrefix(prefix + "_"))
    let body = id.dropFirst(prefix.count + 1)
    #expect(body.count == 26)
    #expect(body.allSatisfy { Self.alphabet.contains($0) })
  }

  @Test("request ids have the same shape, start with the current time and never repeat")
  func requestIDs() {
    let before = Identifier.make(prefix: "req")
    let ids = (0 ..< 10_000).map { _ in Identifier.makeRequestID() }
    #expect(Set(ids).count == ids.count)
    for id in ids.prefix(100) {
      #expect(id.hasPrefix("req_"))
      let body = id.dropFirst(4)
      #expect(body.count == 26)
      #expect(body.allSatisfy { Self.alphabet.contains($0) })
    }
    // The time part (first ten characters) sorts with identifiers made by `make`.
    #expect(ids[0].dropFirst(4).prefix(10) >= before.dropFirst(4).prefix(10))
    #expect(Identifier.makeRequestID(prefix: "x").hasPrefix("x_"))
  }

  // Milliseconds chosen so that millis / 1000 is exact in a Double.
  static let encodedTimes: [(Int64, String)] = [
    (0, "0000000000"),
    (500, "00000000fm"),
    (1_469_918_176_375, "01aryz6s3q"),
    (1_700_000_000_000, "01hf7yat00"),
    (4_102_444_800_000, "03qcpc7p00"),
  ]

  @Test("the first ten characters encode the milliseconds as a ULID does", arguments: encodedTimes)
  func encodesTime(_ millis: Int64, _ encoded: String) {
    let now = Date(timeIntervalSince1970: Double(millis) / 1_000)
    let id = Identifier.make(prefix: "p", now: now)
    #expect(String(id.dropFirst(2).prefix(10)) == encoded)
  }

  @Test("ids made at increasing times sort in that order")
  func sortsByTime() {
    // Steps of 1/256 s (about 3.9 ms) are exact in a Double, so each id gets its own
    // millisecond; the outer values span 1970 to 2100.
    let early: [Double] = [0.5, 1, 1_000, 1_000_000_000]
    let close: [Double] = (0 ..< 200).map { 1_700_000_000 + Double($0) / 256 }
    let late: [Double] = [2_000_000_000, 4_102_444_800]
    let ids = (early + close + late).map {
      Identifier.make(prefix: "p", now: Date(timeIntervalSince1970: $0))
    }
    #expect(ids == ids.sorted())
    #expect(Set(ids).count == ids.count)
  }

  @Test("10,000 ids made in the same millisecond are all different")
  func uniqueWithinOneMillisecond() {
    let now = Date()
    let ids = (0 ..< 10_000).map { _ in Identifier.make(prefix: "p", now: now) }
    #expect(Set(ids).count == 10_000)
    // Every random position takes all 32 characters: no bit of the 80 is stuck.
    let characters = ids.map { Array($0.dropFirst(2)) }
    for position in 10 ..< 26 {
      let seen = Set(characters.map { $0[position] })
      #expect(seen.count == 32, "random character \(position - 10)")
    }
  }

  @Test("makeETag gives 16 lower-case hex characters, different each time")
  func etags() {
    let etags = (0 ..< 1_000).map { _ in Identifier.makeETag() }
    #expect(Set(etags).count == 1_000)
    for etag in etags {
      #expect(etag.count == 16)
      #expect(etag.allSatisfy { "0123456789abcdef".contains($0) })
    }
  }
}
