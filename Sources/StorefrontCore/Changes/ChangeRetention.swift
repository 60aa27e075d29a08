/// How long the change log keeps changes: a change goes as soon as either bound says so.
public struct ChangeRetention: Hashable, Sendable {
  /// Keep at most the newest `maxCount` changes...
  public var maxCount: Int64
  /// ...and none older than `maxAge`.
  public var maxAge: Duration

  public init(maxCount: Int64 = 1_000_000, maxAge: Duration = .seconds(7 * 24 * 3600)) {
    self.maxCount = max(1, maxCount)
    self.maxAge = maxAge
  }
}
