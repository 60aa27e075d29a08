import Foundation
import StorefrontCore
import StorefrontPostgres
import StorefrontTestKit
import Testing

/// The sign-in lockout on PostgreSQL: two stores on one database, as two replicas, count one
/// username's failures together.
@Suite(
  "PostgreSQL sign-in lockout across replicas",
  .enabled(if: TestDatabase.isConfigured, "STOREFRONT_TEST_POSTGRES_URL is unset"),
  .serialized
)
struct PostgresLoginThrottleTests {
  static let rules = LoginThrottle.Configuration(
    freeFailures: 2,
    baseLockout: .seconds(60),
    maxLockout: .seconds(600),
    forgetAfter: .seconds(900)
  )

  /// Runs `body` with a throttle on each of two stores on one fresh database.
  func withReplicas(
    rules: LoginThrottle.Configuration = Self.rules,
    _ body: (_ a: PostgresLoginThrottle, _ b: PostgresLoginThrottle) async throws -> Void
  ) async throws {
    try await TestDatabase.withTwoStores { a, b in
      try await body(
        PostgresLoginThrottle(store: a, configuration: rules),
        PostgresLoginThrottle(store: b, configuration: rules)
      )
    }
  }

  @Test("failures on A and on B count together; the lockout holds on both; success clears")
  func sharedCount() async throws {
    try await self.withReplicas { a, b in
      #expect(try await a.countFailure(of: "mallory") == nil)
      #expect(try await b.countFailure(of: "mallory") == nil)
      #expect(try await a.waitBeforeAttempt(by: "mallory") == nil)
      // The third failure, wherever it lands, starts the first lockout.
      #expect(try await b.countFailure(of: "mallory") == .seconds(60))
      for replica in [a, b] {
        let wait = try #require(try await replica.waitBeforeAttempt(by: "mallory"))
        #expect(wait > .seconds(55) && wait <= .seconds(60))
      }
      #expect(try await a.countFailure(of: "mallory") == .seconds(120))
      // Someone else's name is not touched.
      #expect(try await b.waitBeforeAttempt(by: "alice") == nil)
      try await a.clearFailures(of: "mallory")
      #expect(try await b.waitBeforeAttempt(by: "mallory") == nil)
      #expect(try await b.countFailure(of: "mallory") == nil)
    }
  }

  @Test("guesses racing on two replicas are each counted once")
  func concurrentFailures() async throws {
    let rules = LoginThrottle.Configuration(freeFailures: 40, forgetAfter: .seconds(900))
    try await self.withReplicas(rules: rules) { a, b in
      try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0 ..< 40 {
          group.addTask { _ = try await (index.isMultiple(of: 2) ? a : b).countFailure(of: "eve") }
        }
        try await group.waitForAll()
      }
      // Forty free failures were spent, exactly: the forty-first locks.
      #expect(try await a.waitBeforeAttempt(by: "eve") == nil)
      #expect(try await b.countFailure(of: "eve") == rules.baseLockout)
    }
  }

  @Test("a record idle for longer than forgetAfter starts again from one")
  func forgetting() async throws {
    let rules = LoginThrottle.Configuration(
      freeFailures: 1,
      baseLockout: .seconds(60),
      forgetAfter: .milliseconds(300)
    )
    try await self.withReplicas(rules: rules) { a, b in
      #expect(try await a.countFailure(of: "bob") == nil)
      #expect(try await b.countFailure(of: "bob") == .seconds(60))
      try await Task.sleep(for: .milliseconds(400))
      #expect(try await a.waitBeforeAttempt(by: "bob") == nil)
      #expect(try await b.countFailure(of: "bob") == nil)
    }
  }
}
