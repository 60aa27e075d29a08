/// One watch of the catalogue's changes: every committed write after a starting sequence, in
/// commit order, as they come.
///
/// The change log is the only queue: the watch reads it a batch at a time and waits for the
/// next commit once it has caught up, so a watcher holds one batch at most however slow its
/// client is. A watcher that falls so far behind that the log prunes what it has not read
/// yet ends with `resourceExhausted`. Iteration stops with `CancellationError` once its task
/// is cancelled.
public struct ChangeWatch: AsyncSequence, Sendable {
  public typealias Element = ProductChange

  /// The sequence the watch starts after: where to resume if nothing arrives before it
  /// breaks.
  public let start: Int64
  private let changes: any ProductChangeStore
  private let filter: ChangeFilter
  private let batchSize: Int

  /// Validates the request and finds where the watch starts.
  /// - Parameters:
  ///   - category: only changes of products in this category (before or after); nil for any.
  ///   - ids: only changes of these products; empty for any.
  ///   - sinceSequence: start after this sequence; nil for live changes only.
  ///   - changes: the change log.
  ///   - batchSize: how many changes one read of the log takes.
  /// - Throws: ``StorefrontError`` `invalidArgument` (`ids`, `since_sequence`), `outOfRange`
  ///   (changes after `sinceSequence` were pruned, or it was never handed out).
  public init(
    category: String?,
    ids: [String],
    sinceSequence: Int64?,
    changes: any ProductChangeStore,
    batchSize: Int
  ) async throws {
    guard ids.count <= ChangeFilter.maxIDs else {
      throw StorefrontError.invalidArgument(
        field: "ids",
        "at most \(ChangeFilter.maxIDs) ids per watch"
      )
    }
    for (index, id) in ids.enumerated() {
      try Identifier.validate(id, field: "ids[\(index)]")
    }
    let filter = ChangeFilter(category: category, ids: Set(ids))
    let head = try await changes.latestChangeSequence()
    if let sinceSequence {
      guard sinceSequence >= 0 else {
        throw StorefrontError.invalidArgument(field: "since_sequence", "must not be negative")
      }
      // Out of range answers at once, before the stream starts.
      _ = try await changes.changes(after: sinceSequence, matching: filter, limit: 1)
      self.start = sinceSequence
    } else {
      self.start = head
    }
    self.changes = changes
    self.filter = filter
    self.batchSize = Swift.max(1, batchSize)
  }

  public struct AsyncIterator: AsyncIteratorProtocol {
    let watch: ChangeWatch
    var position: Int64
    var page: [ProductChange] = []
    var index = 0

    public mutating func next() async throws -> ProductChange? {
      while self.index == self.page.count {
        try Task.checkCancellation()
        let read: (changes: [ProductChange], through: Int64)
        do {
          read = try await self.watch.changes.changes(
            after: self.position,
            matching: self.watch.filter,
            limit: self.watch.batchSize
          )
        } catch let error as StorefrontError where error.code == .outOfRange {
          throw StorefrontError(
            code: .resourceExhausted,
            message: """
              the watcher fell behind the change log, which no longer keeps the changes after \
              \(self.position); watch again with since_sequence = \(self.position) to check, \
              or list the catalogue afresh
              """
          )
        }
        if read.through == self.position {
          try await self.watch.changes.waitForChange(after: self.position)
        }
        self.position = read.through
        self.page = read.changes
        self.index = 0
      }
      defer { self.index += 1 }
      return self.page[self.index]
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(watch: self, position: self.start)
  }
}
