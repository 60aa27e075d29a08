import Foundation
import StorefrontTestKit
import Testing

@testable import StorefrontCore

@Suite("Users and passwords")
struct PasswordTests {
  static let cheap = PasswordHash.Parameters(logN: 10, blockSize: 8, parallelism: 1)

  @Test("a hash verifies its password and no other; each hash has its own salt")
  func verify() throws {
    let hasher = PasswordHasher(parameters: Self.cheap)
    let first = try hasher.hash("correct horse")
    let second = try hasher.hash("correct horse")
    #expect(hasher.verify("correct horse", against: first))
    #expect(!hasher.verify("correct hors", against: first))
    #expect(!hasher.verify("", against: first))
    #expect(first.salt != second.salt)
    #expect(first.key != second.key)
  }

  @Test("the text form keeps algorithm, parameters, salt and key; other forms are refused")
  func encoding() throws {
    let hash = try PasswordHasher(parameters: Self.cheap).hash("pw-12345678")
    let text = hash.encoded
    #expect(text.hasPrefix("scrypt$10$8$1$"))
    #expect(PasswordHash(encoded: text) == hash)
    // A hash made with other parameters verifies with its own parameters.
    let standard = PasswordHasher()
    #expect(standard.verify("pw-12345678", against: try #require(PasswordHash(encoded: text))))
    for bad in [
      "", "bcrypt$10$8$1$AAAA$AAAA", "scrypt$10$8$1$AAAA", "scrypt$99$8$1$AAAA$AAAA",
      "scrypt$10$8$1$$AAAA", "scrypt$x$8$1$AAAA$AAAA",
    ] {
      #expect(PasswordHash(encoded: bad) == nil, "\(bad)")
    }
    #expect(!"\(hash)".contains(Data(hash.key).base64EncodedString()))
  }

  @Test("usernames: 1-64 of a-z 0-9 . _ -")
  func usernames() {
    for good in ["a", "alice", "shop-1.staff_2", String(repeating: "x", count: 64)] {
      #expect(throws: Never.self) { try User.validateUsername(good) }
    }
    for bad in ["", "Alice", "al ice", "ali\u{0}ce", "ålice", String(repeating: "x", count: 65)] {
      #expect(throws: StorefrontError.self) { try User.validateUsername(bad) }
    }
  }

  @Test("passwords: at least 8 characters, at most 1,024 bytes")
  func passwords() {
    #expect(throws: StorefrontError.self) { try User.validatePassword("short") }
    #expect(throws: Never.self) { try User.validatePassword("eight ch") }
    #expect(throws: StorefrontError.self) {
      try User.validatePassword(String(repeating: "x", count: 1_025))
    }
  }
}
