/// What a store keeps in memory about its catalogue: products read recently
/// (``ProductCache``), the newest changes (``ChangeTail``), and the wake-up of watchers that
/// have caught up (``ChangeSignal``).
///
/// Any store uses it the same way: it reports every commit that wrote products with
/// ``record(_:)``, in commit order and before the write returns, and ``CachedCatalogue``
/// serves reads through it. A store whose commits can also come from elsewhere (other
/// replicas) reports those as it learns of them, and calls ``forgetAll(head:)`` when it may
/// have missed some.
public final class ChangeFeed: Sendable {
  /// How much the feed keeps.
  public struct Configuration: Hashable, Sendable {
    /// How many products are kept for reads by id (0: none, every read goes to the store).
    public var productCacheCapacity: Int
    /// How many of the newest changes are kept for watchers that have caught up (0: none;
    /// every watcher then reads each commit from the store).
    public var changeTailCapacity: Int
    /// The tail is filled while someone read changes within this long; nil: always. While
    /// nobody watches, a store need not read each commit's changes back (imports would pay).
    public var changeTailIdleTime: Duration?

    public init(
      productCacheCapacity: Int = 10_000,
      changeTailCapacity: Int = 4_096,
      changeTailIdleTime: Duration? = .seconds(10)
    ) {
      self.productCacheCapacity = productCacheCapacity
      self.changeTailCapacity = changeTailCapacity
      self.changeTailIdleTime = changeTailIdleTime
    }
  }

  /// One commit that appended to the change log.
  public struct Commit: Sendable {
    /// The log's newest sequence before the commit.
    public var previousHead: Int64
    /// The log's newest sequence after it.
    public var head: Int64
    /// Every change the commit appended, in sequence order; nil when the store did not read
    /// them back (``wantsChanges(count:)`` said no).
    public var changes: [ProductChange]?
    /// The ids of the products the commit wrote.
    public var changedIDs: [String]
    /// The sequence the commit pruned the log through; 0 when it pruned nothing.
    public var prunedThrough: Int64

    public init(
      previousHead: Int64,
      head: Int64,
      changes: [ProductChange]?,
      changedIDs: [String],
      prunedThrough: Int64
    ) {
      self.previousHead = previousHead
      self.head = head
      self.changes = changes
      self.changedIDs = changedIDs
      self.prunedThrough = prunedThrough
    }
  }

  /// Products read recently.
  public let cache: ProductCache
  /// The newest changes.
  public let tail: ChangeTail
  private let signal: ChangeSignal
  private let tailIdleTime: Duration?

  /// - Parameters:
  ///   - configuration: what to keep.
  ///   - head: the newest sequence of the change log now.
  public init(configuration: Configuration = Configuration(), head: Int64) {
    self.cache = ProductCache(capacity: configuration.productCacheCapacity)
    // A tail longer than one scan window would answer a `through` the log would not.
    self.tail = ChangeTail(
      capacity: min(configuration.changeTailCapacity, Int(ProductChange.logScanWindow))
    )
    self.tailIdleTime = configuration.changeTailIdleTime
    self.signal = ChangeSignal(head: head)
  }

  /// Whether the store should read back the `count` changes of a commit for the tail: only
  /// when they fit and someone has asked for changes lately.
  public func wantsChanges(count: Int64) -> Bool {
    count <= Int64(self.tail.capacity)
      && (self.tailIdleTime.map { self.tail.wasAsked(within: $0) } ?? true)
  }

  /// Takes in a commit: the tail records its changes, the cache forgets the products it
  /// wrote, and the watchers waiting for it wake up. Call in commit order.
  public func record(_ commit: Commit) {
    self.tail.record(
      commit.changes,
      after: commit.previousHead,
      through: commit.head,
      prunedThrough: commit.prunedThrough
    )
    if !commit.changedIDs.isEmpty { self.cache.invalidate(ids: commit.changedIDs) }
    self.signal.advance(to: commit.head)
  }

  /// Forgets every cached product and the tail, for a store that may have missed commits
  /// made elsewhere; reads then go to the store until new commits are recorded.
  public func forgetAll(head: Int64) {
    self.cache.invalidateAll()
    self.tail.record(nil, after: head, through: head, prunedThrough: 0)
    self.signal.advance(to: head)
  }

  /// The newest sequence the feed has been told of.
  public var head: Int64 { self.signal.head }

  /// Returns once a change after `sequence` has been recorded.
  /// - Throws: `CancellationError` when the task is cancelled first; ``StorefrontError``
  ///   `unavailable` once ``close()`` has been called.
  public func waitForChange(after sequence: Int64) async throws {
    try await self.signal.wait(after: sequence)
  }

  /// Ends every wait, now and later, with `unavailable`: the server is shutting down and
  /// live feeds end.
  public func close() {
    self.signal.close()
  }

  /// How many tasks wait for a change: watchers that have caught up.
  public var waiterCount: Int { self.signal.waiterCount }
}
