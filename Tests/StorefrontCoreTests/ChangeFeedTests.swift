import Foundation
import StorefrontCore
import Testing

/// The memory a store keeps about its catalogue, fed by its commits.
@Suite("ChangeFeed", .timeLimit(.minutes(1)))
struct ChangeFeedTests {
  static func product(_ id: String) -> Product {
    Product(
      id: id,
      draft: ProductDraft(sku: "SKU-\(id)", name: id, priceCents: 1),
      createTime: Date(timeIntervalSince1970: 0),
      updateTime: Date(timeIntervalSince1970: 0),
      etag: "e"
    )
  }

  static func change(_ sequence: Int64, _ id: String) -> ProductChange {
    ProductChange(
      sequence: sequence,
      kind: .updated,
      product: Self.product(id),
      changeTime: Date(timeIntervalSince1970: 0)
    )
  }

  /// The commit that appends the change of `id` as sequence 1.
  static let firstCommit = ChangeFeed.Commit(
    previousHead: 0,
    head: 1,
    changes: [Self.change(1, "p_a")],
    changedIDs: ["p_a"],
    prunedThrough: 0
  )

  @Test("a commit forgets the products it wrote, feeds the tail and wakes a waiter")
  func recordsCommits() async throws {
    let feed = ChangeFeed(configuration: ChangeFeed.Configuration(changeTailIdleTime: nil), head: 0)
    feed.cache.fill(Self.product("p_a"), ticket: feed.cache.fillTicket())
    feed.cache.fill(Self.product("p_b"), ticket: feed.cache.fillTicket())
    #expect(feed.wantsChanges(count: 1))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await feed.waitForChange(after: 0) }
      while feed.waiterCount == 0 { await Task.yield() }
      feed.record(Self.firstCommit)
      try await group.waitForAll()
    }
    #expect(feed.head == 1)
    #expect(feed.cache.product(id: "p_a") == nil)
    #expect(feed.cache.product(id: "p_b") != nil)
    let answer = feed.tail.changes(after: 0, matching: ChangeFilter(), limit: 10)
    #expect(answer?.changes.map(\.product.id) == ["p_a"])
    #expect(answer?.through == 1)
  }

  @Test("forgetAll drops every cached product and the tail, and moves the head")
  func forgetsAll() {
    let feed = ChangeFeed(configuration: ChangeFeed.Configuration(changeTailIdleTime: nil), head: 0)
    feed.record(Self.firstCommit)
    let stale = feed.cache.fillTicket()
    feed.cache.fill(Self.product("p_b"), ticket: stale)
    feed.forgetAll(head: 5)
    #expect(feed.cache.count == 0)
    #expect(feed.head == 5)
    // The tail holds nothing before the new head, so reads of older changes go to the store.
    #expect(feed.tail.changes(after: 0, matching: ChangeFilter(), limit: 10) == nil)
    // A read that began before forgetting cannot fill the cache with what it found.
    feed.cache.fill(Self.product("p_b"), ticket: stale)
    #expect(feed.cache.count == 0)
  }

  @Test("the tail is not filled while nobody has asked for changes lately")
  func idleTail() {
    let feed = ChangeFeed(head: 0)
    #expect(!feed.wantsChanges(count: 1))
    _ = feed.tail.changes(after: 0, matching: ChangeFilter(), limit: 1)
    #expect(feed.wantsChanges(count: 1))
    #expect(!feed.wantsChanges(count: 100_000))
  }
}
