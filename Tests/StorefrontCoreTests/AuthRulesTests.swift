import Foundation
import Testing

@testable import StorefrontCore

@Suite("AccessPolicy")
struct AccessPolicyTests {
  /// Who may take each action: nil is anyone, signed in or not.
  static let table: [(Action, Set<Role>?)] = [
    (.signIn, nil),
    (.readCatalogue, nil),
    (.writeCatalogue, [.admin, .staff]),
    (.chat, [.admin, .staff, .shopper]),
    (.manageUsers, [.admin]),
    (.closed, []),
  ]

  @Test("each action allows exactly its roles; anonymous callers only the open actions")
  func table() {
    let policy = AccessPolicy()
    #expect(Self.table.count == Action.allCases.count)
    for (action, roles) in Self.table {
      #expect(policy.allowedRoles(for: action) == roles, "\(action)")
      let anonymous = policy.decision(for: action, principal: nil)
      #expect(anonymous == (roles == nil ? .allow : .unauthenticated), "\(action)")
      for role in Role.allCases {
        let decision = policy.decision(for: action, principal: Principal(username: "u", role: role))
        let allowed = roles.map { $0.contains(role) } ?? true
        #expect(decision == (allowed ? .allow : .permissionDenied), "\(action) \(role)")
      }
    }
  }

  @Test("with reads requiring a user, anonymous reads are refused and every role may read")
  func readsRequireAuth() {
    let policy = AccessPolicy(requireAuthForReads: true)
    #expect(policy.decision(for: .readCatalogue, principal: nil) == .unauthenticated)
    for role in Role.allCases {
      let principal = Principal(username: "u", role: role)
      #expect(policy.decision(for: .readCatalogue, principal: principal) == .allow)
    }
    #expect(policy.decision(for: .signIn, principal: nil) == .allow)
  }
}

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

@Suite("LoginThrottle")
struct LoginThrottleTests {
  static let configuration = LoginThrottle.Configuration(
    freeFailures: 3,
    baseLockout: .seconds(1),
    maxLockout: .seconds(8),
    forgetAfter: .seconds(60),
    capacity: 4
  )

  @Test("free failures, then lockouts that double up to the cap")
  func lockouts() {
    let throttle = LoginThrottle(configuration: Self.configuration)
    let start = ContinuousClock.now
    for _ in 0 ..< 3 {
      #expect(throttle.recordFailure(for: "alice", now: start) == nil)
    }
    #expect(throttle.waitTime(for: "alice", now: start) == nil)
    var now = start
    for expected in [1, 2, 4, 8, 8] {
      #expect(throttle.recordFailure(for: "alice", now: now) == .seconds(expected))
      #expect(throttle.waitTime(for: "alice", now: now) == .seconds(expected))
      now = now.advanced(by: .seconds(expected))
      #expect(throttle.waitTime(for: "alice", now: now) == nil)
    }
    #expect(throttle.waitTime(for: "bob", now: now) == nil)
  }

  @Test("a success clears a username's failures; a quiet spell forgets them")
  func clearing() {
    let throttle = LoginThrottle(configuration: Self.configuration)
    let start = ContinuousClock.now
    for _ in 0 ..< 4 { throttle.recordFailure(for: "alice", now: start) }
    #expect(throttle.waitTime(for: "alice", now: start) != nil)
    throttle.recordSuccess(for: "alice")
    #expect(throttle.waitTime(for: "alice", now: start) == nil)
    #expect(throttle.recordFailure(for: "alice", now: start) == nil)

    for _ in 0 ..< 4 { throttle.recordFailure(for: "bob", now: start) }
    let later = start.advanced(by: .seconds(61))
    #expect(throttle.waitTime(for: "bob", now: later) == nil)
    #expect(throttle.recordFailure(for: "bob", now: later) == nil)
  }

  @Test("memory is bounded: a flood of names keeps the locked ones and forgets the rest")
  func bounded() {
    let throttle = LoginThrottle(configuration: Self.configuration)
    let start = ContinuousClock.now
    for _ in 0 ..< 4 { throttle.recordFailure(for: "victim", now: start) }
    for index in 0 ..< 1_000 {
      throttle.recordFailure(for: "made-up-\(index)", now: start.advanced(by: .milliseconds(index)))
      #expect(throttle.count <= Self.configuration.capacity)
    }
    #expect(throttle.waitTime(for: "victim", now: start.advanced(by: .milliseconds(500))) != nil)
  }
}

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

/// A value a clock closure reads while the test changes it.
final class Locked<Value: Sendable>: @unchecked Sendable {
  // Safe: every access holds `lock`.
  private let lock = NSLock()
  private var stored: Value

  init(_ value: Value) {
    self.stored = value
  }

  var value: Value {
    get { self.lock.withLock { self.stored } }
    set { self.lock.withLock { self.stored = newValue } }
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
