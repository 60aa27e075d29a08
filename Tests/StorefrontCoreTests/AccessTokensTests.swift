import Foundation
import StorefrontTestKit
import Testing

@testable import StorefrontCore

@Suite("AccessTokens")
struct AccessTokensTests {
  static let key = Array(repeating: UInt8(7), count: 32)
  static let alice = Principal(username: "alice", role: .staff)

  @Test("a token carries the user and role until it expires")
  func roundTrip() async throws {
    let clock = Locked(Date(timeIntervalSince1970: 1_000_000))
    let tokens = try await AccessTokens(key: Self.key, lifetime: .seconds(60)) { clock.value }
    let issued = try await tokens.issue(for: Self.alice)
    #expect(issued.expireTime == Date(timeIntervalSince1970: 1_000_060))
    #expect(try await tokens.verify(issued.token) == Self.alice)
    clock.value = Date(timeIntervalSince1970: 1_000_059)
    #expect(try await tokens.verify(issued.token) == Self.alice)
    clock.value = Date(timeIntervalSince1970: 1_000_060)
    let error = await #expect(throws: StorefrontError.self) {
      try await tokens.verify(issued.token)
    }
    #expect(error?.code == .unauthenticated)
  }

  @Test("tokens signed with another key, altered, unsigned or malformed are refused")
  func forgeries() async throws {
    let tokens = try await AccessTokens(key: Self.key)
    let other = try await AccessTokens(key: Array(repeating: 8, count: 32))
    let good = try await tokens.issue(for: Self.alice).token
    let parts = good.split(separator: ".").map(String.init)
    // The same claims with the role raised to admin, under the original signature.
    var claims = try #require(Data(base64URL: parts[1]))
    claims = Data(
      String(decoding: claims, as: UTF8.self).replacingOccurrences(of: "staff", with: "admin").utf8
    )
    let raised = [parts[0], claims.base64URL, parts[2]].joined(separator: ".")
    let unsigned = [
      Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URL, parts[1], "",
    ].joined(separator: ".")
    for forged in [
      try await other.issue(for: Self.alice).token, raised, unsigned, "", "a.b.c", "not a token",
    ] {
      let error = await #expect(throws: StorefrontError.self) { try await tokens.verify(forged) }
      #expect(error?.code == .unauthenticated, "\(forged)")
    }
  }

  @Test("a key shorter than 32 bytes is refused")
  func shortKey() async {
    await #expect(throws: StorefrontError.self) {
      _ = try await AccessTokens(key: Array(repeating: 1, count: 31))
    }
  }
}

extension Data {
  init?(base64URL text: String) {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(
      of: "_",
      with: "/"
    )
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    self.init(base64Encoded: base64)
  }

  var base64URL: String {
    self.base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }
}
