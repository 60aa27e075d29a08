/// The products of a listing, read from the store a batch at a time as they are consumed.
/// Iteration stops with `CancellationError` once its task is cancelled.
public struct ProductListing: AsyncSequence, Sendable {
  public typealias Element = Product

  let store: any ProductStore
  let filter: ProductFilter
  let limit: Int
  let batchSize: Int

  public struct AsyncIterator: AsyncIteratorProtocol {
    let store: any ProductStore
    var filter: ProductFilter
    var remaining: Int
    let batchSize: Int
    var batch: [Product] = []
    var index = 0
    /// Whether the last read returned fewer than it asked for: the store has no more.
    var exhausted = false

    public mutating func next() async throws -> Product? {
      try Task.checkCancellation()
      if self.index == self.batch.count {
        guard !self.exhausted, self.remaining > 0 else { return nil }
        let limit = Swift.min(self.remaining, self.batchSize)
        self.batch = try await self.store.products(matching: self.filter, limit: limit)
        self.index = 0
        self.remaining -= self.batch.count
        self.exhausted = self.batch.count < limit
        guard let last = self.batch.last else { return nil }
        self.filter.afterID = last.id
      }
      defer { self.index += 1 }
      return self.batch[self.index]
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(
      store: self.store,
      filter: self.filter,
      remaining: self.limit,
      batchSize: self.batchSize
    )
  }
}
