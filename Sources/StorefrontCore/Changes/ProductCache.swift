import DequeModule
import Synchronization

/// Products read recently, kept in memory so that a hot product is served without a store
/// read. The store that owns it invalidates the ids of every write before the write returns.
///
/// A read that missed fills the cache only if no invalidation happened since it began
/// (``fillTicket()``), so a read of the database that raced with a write can never put the
/// old row back after the write's invalidation. At most `capacity` products are kept; the
/// oldest entry goes first.
public final class ProductCache: Sendable {
  private struct State {
    var entries: [String: Product] = [:]
    /// Ids in the order they were inserted; may hold ids already invalidated.
    var order: Deque<String> = []
    /// Bumped by every invalidation.
    var generation: UInt64 = 0
  }

  /// The most products kept.
  public let capacity: Int
  private let state = Mutex(State())

  /// - Parameter capacity: the most products kept; 0 keeps none.
  public init(capacity: Int) {
    self.capacity = max(0, capacity)
  }

  /// The cached product with `id`, if there is one.
  public func product(id: String) -> Product? {
    self.state.withLock { $0.entries[id] }
  }

  /// Take a ticket before reading the store, and hand it to ``fill(_:ticket:)`` with what
  /// the read found.
  public func fillTicket() -> UInt64 {
    self.state.withLock { $0.generation }
  }

  /// Keeps `product`, unless an invalidation happened since `ticket` was taken.
  public func fill(_ product: Product, ticket: UInt64) {
    guard self.capacity > 0 else { return }
    self.state.withLock { state in
      guard state.generation == ticket else { return }
      if state.entries.updateValue(product, forKey: product.id) == nil {
        state.order.append(product.id)
      }
      while state.entries.count > self.capacity, let oldest = state.order.popFirst() {
        state.entries[oldest] = nil
      }
      // Ids invalidated meanwhile stay in `order`; drop them when they pile up.
      if state.order.count > 2 * self.capacity {
        state.order = Deque(state.order.filter { state.entries[$0] != nil })
      }
    }
  }

  /// Forgets the products with `ids` and refuses fills by reads that began before.
  public func invalidate(ids: some Sequence<String>) {
    self.state.withLock { state in
      state.generation &+= 1
      for id in ids { state.entries[id] = nil }
    }
  }

  /// Forgets every product and refuses fills by reads that began before.
  public func invalidateAll() {
    self.state.withLock { state in
      state.generation &+= 1
      state.entries.removeAll()
      state.order.removeAll()
    }
  }

  /// How many products are cached.
  public var count: Int {
    self.state.withLock { $0.entries.count }
  }
}
