import DequeModule
import Synchronization

/// The newest changes of the change log, kept in memory, so that watchers that have caught up
/// read each new commit from here instead of each querying the database for it: with M
/// watchers, a commit costs one read of its rows (by the write that made them) instead of M.
///
/// The store that owns it records every commit that appended to the log, in commit order
/// (``record(_:after:through:prunedThrough:)``). It holds every change the log holds in
/// (`from`, `head`], at most `capacity` of them; ``changes(after:matching:limit:)`` answers
/// exactly as the log would, or nil when the tail cannot (the caller then reads the log).
public final class ChangeTail: Sendable {
  private struct State {
    /// In sequence order; every change of the log with a sequence in (`from`, `head`].
    var changes: Deque<ProductChange> = []
    var from: Int64 = 0
    /// Nil until the first commit is recorded: the tail knows nothing yet.
    var head: Int64?
    /// When ``changes(after:matching:limit:)`` was last asked, answered or not.
    var lastAsked: ContinuousClock.Instant?
  }

  /// The most changes kept; 0 keeps none (every read goes to the log).
  public let capacity: Int
  private let state = Mutex(State())

  public init(capacity: Int) {
    self.capacity = max(0, capacity)
  }

  /// Records a commit that moved the log's head from `previous` to `head`: `changes` are all
  /// of the changes it appended, in sequence order, or nil when the store did not read them
  /// back (too many to keep, or nobody is reading the log): the tail then starts afresh at
  /// `head`. `prunedThrough` is the sequence the commit pruned the log through (0: it pruned
  /// nothing; the tail never starts below what earlier commits pruned).
  public func record(
    _ changes: [ProductChange]?,
    after previous: Int64,
    through head: Int64,
    prunedThrough: Int64
  ) {
    guard self.capacity > 0 else { return }
    self.state.withLock { state in
      guard let changes, changes.count <= self.capacity else {
        state = State(changes: [], from: head, head: head, lastAsked: state.lastAsked)
        return
      }
      if state.head != previous {
        // The first commit seen, or one that does not follow the last (never, when every
        // commit is recorded in order): start from this one.
        state = State(changes: [], from: previous, head: previous, lastAsked: state.lastAsked)
      }
      state.changes.append(contentsOf: changes)
      state.head = head
      while let first = state.changes.first,
        state.changes.count > self.capacity || first.sequence <= prunedThrough
      {
        state.from = first.sequence
        state.changes.removeFirst()
      }
      state.from = max(state.from, prunedThrough)
    }
  }

  /// Whether anyone asked for changes within `interval`: while nobody watches, the store
  /// need not read each commit's rows back to fill the tail (an import would pay for it).
  public func wasAsked(within interval: Duration) -> Bool {
    self.state.withLock { state in
      state.lastAsked.map { ContinuousClock.now - $0 <= interval } ?? false
    }
  }

  /// The changes after `sequence` that `filter` matches, at most `limit`, and the sequence
  /// the answer reaches (the last change's when `limit` were found, else the head), exactly
  /// as the log would answer; nil when the tail does not hold every change after `sequence`
  /// (it is older than the tail, or newer than the last commit recorded).
  public func changes(
    after sequence: Int64,
    matching filter: ChangeFilter,
    limit: Int
  ) -> (changes: [ProductChange], through: Int64)? {
    self.state.withLock { state in
      state.lastAsked = .now
      guard let head = state.head, sequence >= state.from, sequence <= head else { return nil }
      let limit = max(1, limit)
      var found: [ProductChange] = []
      // Changes are in sequence order: find the first after `sequence` by bisection.
      var low = state.changes.startIndex
      var high = state.changes.endIndex
      while low < high {
        let middle = (low + high) / 2
        if state.changes[middle].sequence <= sequence { low = middle + 1 } else { high = middle }
      }
      for change in state.changes[low...] where filter.matches(change) {
        found.append(change)
        if found.count == limit { return (found, change.sequence) }
      }
      return (found, head)
    }
  }
}
