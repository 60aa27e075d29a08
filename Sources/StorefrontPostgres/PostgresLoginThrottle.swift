import PostgresNIO
public import StorefrontCore

/// Failed sign-ins counted in the database every replica shares: a username's guesses count
/// the same wherever the load balancer sends them, so spreading them over replicas gains an
/// attacker nothing. The rules are ``LoginThrottle``'s; the clock is the database's, which all
/// replicas share. Records without a failure for `forgetAfter` are forgotten, a few with every
/// new failure, so made-up usernames cannot grow the table.
public struct PostgresLoginThrottle: LoginThrottling {
  public let configuration: LoginThrottle.Configuration
  private let store: PostgresStore

  public init(store: PostgresStore, configuration: LoginThrottle.Configuration = .init()) {
    self.store = store
    self.configuration = configuration
  }

  public func waitBeforeAttempt(by username: String) async throws -> Duration? {
    // A name with a NUL can be neither a user nor a row: nothing to wait for.
    guard !PostgresStore.containsNUL(username) else { return nil }
    let logger = self.store.logger
    let forget = self.configuration.forgetAfter.fractionalSeconds
    let wait = try await self.store.read { connection in
      try await connection.rows(
        """
        SELECT EXTRACT(EPOCH FROM locked_until - now())::float8 AS wait FROM login_failure
        WHERE username = \(username) AND locked_until > now()
          AND last_failure > now() - make_interval(secs => \(forget))
        """,
        logger: logger
      ).first.map { try $0["wait"].decode(Double.self) }
    }
    return wait.map { .milliseconds(Int(($0 * 1_000).rounded(.up))) }
  }

  public func countFailure(of username: String) async throws -> Duration? {
    guard !PostgresStore.containsNUL(username) else { return nil }
    let logger = self.store.logger
    let configuration = self.configuration
    let forget = configuration.forgetAfter.fractionalSeconds
    // In a task of its own (writeUnlogged's): a cancelled caller's failure is counted too.
    return try await self.store.writeUnlogged { connection in
      // This name's record, when forgotten by time (so that it starts again from one), and a
      // few others that are.
      try await connection.run(
        """
        DELETE FROM login_failure
        WHERE last_failure <= now() - make_interval(secs => \(forget))
          AND (username = \(username) OR username IN (
            SELECT username FROM login_failure
            WHERE last_failure <= now() - make_interval(secs => \(forget)) LIMIT 100))
        """,
        logger: logger
      )
      // One statement: concurrent failures on other replicas wait for this row, and none is
      // lost.
      let rows = try await connection.rows(
        """
        INSERT INTO login_failure AS f (username, failures, last_failure)
        VALUES (\(username), 1, now())
        ON CONFLICT (username) DO UPDATE SET failures = f.failures + 1, last_failure = now()
        RETURNING failures
        """,
        logger: logger
      )
      let failures = try rows.first?["failures"].decode(Int.self) ?? 1
      guard let lockout = configuration.lockout(afterFailures: failures) else { return nil }
      let seconds = lockout.fractionalSeconds
      try await connection.run(
        """
        UPDATE login_failure
        SET locked_until = GREATEST(locked_until, now() + make_interval(secs => \(seconds)))
        WHERE username = \(username)
        """,
        logger: logger
      )
      return lockout
    }
  }

  public func clearFailures(of username: String) async throws {
    guard !PostgresStore.containsNUL(username) else { return }
    let logger = self.store.logger
    try await self.store.writeUnlogged { connection in
      try await connection.run(
        "DELETE FROM login_failure WHERE username = \(username)",
        logger: logger
      )
    }
  }
}
