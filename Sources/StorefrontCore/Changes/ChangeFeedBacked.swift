/// A store whose committed writes go through a ``ChangeFeed``: the feed's waits, its close
/// and its waiter count serve as the store's, for every store alike.
public protocol ChangeFeedBacked: AnyObject, Sendable {
  /// The feed the store records its commits in.
  var feed: ChangeFeed { get }
}

extension ChangeFeedBacked {
  /// Returns once a change after `sequence` is committed (or at once if one is).
  public func waitForChange(after sequence: Int64) async throws {
    try await self.feed.waitForChange(after: sequence)
  }

  /// Ends every ``waitForChange(after:)``, now and later, with `unavailable`: for a server
  /// that is shutting down, so that live feeds end.
  public func endChangeWaits() {
    self.feed.close()
  }

  /// How many tasks wait in ``waitForChange(after:)``: watchers that have caught up.
  public var changeWaiterCount: Int { self.feed.waiterCount }
}

extension Duration {
  /// The duration in whole microseconds, as the stores keep times.
  public var wholeMicroseconds: Int64 {
    let (seconds, attoseconds) = self.components
    return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
  }

  /// The duration in seconds, fractions included.
  public var fractionalSeconds: Double {
    Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
  }
}
