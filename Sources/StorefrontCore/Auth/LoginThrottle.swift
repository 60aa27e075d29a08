import Synchronization

/// Slows down password guessing: after ``Configuration/freeFailures`` failed sign-ins for one
/// username, each further attempt must wait a lockout that doubles with every failure, up to
/// ``Configuration/maxLockout``. A success, or ``Configuration/forgetAfter`` without a failure,
/// clears the username's record.
///
/// The throttle holds at most ``Configuration/capacity`` usernames; when full, it forgets
/// records whose lockout has passed, then the oldest ones, so a flood of made-up names cannot
/// grow the server's memory. Time comes from the caller (`now:`), so tests control it.
public final class LoginThrottle: Sendable {
  /// The throttle's limits; the defaults suit production.
  public struct Configuration: Sendable {
    /// Failures allowed before lockouts start.
    public var freeFailures: Int
    /// The first lockout.
    public var baseLockout: Duration
    /// The longest lockout.
    public var maxLockout: Duration
    /// A record with no failure for this long is forgotten.
    public var forgetAfter: Duration
    /// The most usernames remembered at once.
    public var capacity: Int

    public init(
      freeFailures: Int = 5,
      baseLockout: Duration = .seconds(1),
      maxLockout: Duration = .seconds(300),
      forgetAfter: Duration = .seconds(900),
      capacity: Int = 10_000
    ) {
      self.freeFailures = freeFailures
      self.baseLockout = baseLockout
      self.maxLockout = maxLockout
      self.forgetAfter = forgetAfter
      self.capacity = capacity
    }

    /// The lockout that starts with the `failures`th failure in a row; nil while failures
    /// are still free. 1, 2, 4, ... times the base, capped.
    public func lockout(afterFailures failures: Int) -> Duration? {
      let excess = failures - self.freeFailures
      guard excess > 0 else { return nil }
      // The shift is capped so that it never overflows.
      return min(self.baseLockout * (1 << min(excess - 1, 20)), self.maxLockout)
    }
  }

  private struct Record {
    var failures: Int
    var lastFailure: ContinuousClock.Instant
    var lockedUntil: ContinuousClock.Instant?
  }

  /// The configuration the throttle runs with.
  public let configuration: Configuration
  private let records = Mutex<[String: Record]>([:])

  public init(configuration: Configuration = Configuration()) {
    self.configuration = configuration
  }

  /// How long `username` must still wait before another attempt; nil when it may try now.
  public func waitTime(
    for username: String,
    now: ContinuousClock.Instant = .now
  ) -> Duration? {
    self.records.withLock { records in
      guard let record = records[username] else { return nil }
      if now - record.lastFailure >= self.configuration.forgetAfter {
        records[username] = nil
        return nil
      }
      guard let until = record.lockedUntil, until > now else { return nil }
      return until - now
    }
  }

  /// Counts a failed attempt for `username`.
  /// - Returns: the lockout that starts now, or nil while failures are still free.
  @discardableResult
  public func recordFailure(
    for username: String,
    now: ContinuousClock.Instant = .now
  ) -> Duration? {
    self.records.withLock { records in
      var record = records[username] ?? Record(failures: 0, lastFailure: now, lockedUntil: nil)
      if now - record.lastFailure >= self.configuration.forgetAfter {
        record = Record(failures: 0, lastFailure: now, lockedUntil: nil)
      }
      record.failures += 1
      record.lastFailure = now
      let lockout = self.configuration.lockout(afterFailures: record.failures)
      if let lockout {
        record.lockedUntil = now + lockout
      }
      if records[username] == nil, records.count >= self.configuration.capacity {
        Self.makeRoom(in: &records, now: now, capacity: self.configuration.capacity)
      }
      records[username] = record
      return lockout
    }
  }

  /// Clears `username`'s failures after a successful sign-in.
  public func recordSuccess(for username: String) {
    _ = self.records.withLock { $0.removeValue(forKey: username) }
  }

  /// How many usernames the throttle remembers.
  public var count: Int {
    self.records.withLock { $0.count }
  }

  /// Forgets records no longer locked, then the oldest, until there is room for one more.
  private static func makeRoom(
    in records: inout [String: Record],
    now: ContinuousClock.Instant,
    capacity: Int
  ) {
    records = records.filter { $0.value.lockedUntil.map { $0 > now } ?? false }
    guard records.count >= capacity else { return }
    let oldest = records.sorted { $0.value.lastFailure < $1.value.lastFailure }
      .prefix(records.count - capacity + 1)
    for (username, _) in oldest {
      records[username] = nil
    }
  }
}

/// Where failed sign-ins are counted: in this process (``LoginThrottle``), or, when replicas
/// share a database, in it, so that spreading guesses over replicas gains an attacker nothing.
public protocol LoginThrottling: Sendable {
  /// The limits the throttle applies.
  var configuration: LoginThrottle.Configuration { get }
  /// How long `username` must still wait before another attempt; nil when it may try now.
  func waitBeforeAttempt(by username: String) async throws -> Duration?
  /// Counts a failed attempt; returns the lockout that starts now, nil while failures are free.
  /// The count is kept even when the calling task is cancelled: cancelling each guess must not
  /// skip its count.
  func countFailure(of username: String) async throws -> Duration?
  /// Forgets `username`'s failures after a successful sign-in.
  func clearFailures(of username: String) async throws
}

/// The in-memory throttle: its count is synchronous, so no cancellation can skip it.
extension LoginThrottle: LoginThrottling {
  public func waitBeforeAttempt(by username: String) async throws -> Duration? {
    self.waitTime(for: username)
  }

  public func countFailure(of username: String) async throws -> Duration? {
    self.recordFailure(for: username)
  }

  public func clearFailures(of username: String) async throws {
    self.recordSuccess(for: username)
  }
}
