import Foundation
import StorefrontCore
import Testing

extension ProductStoreContractTests {
  /// Every change after `sequence`, read in pages of `limit`.
  static func allChanges(
    _ store: any StoreFactory.Store,
    after sequence: Int64 = 0,
    matching filter: ChangeFilter = ChangeFilter(),
    limit: Int = 1_000
  ) async throws -> [ProductChange] {
    var position = sequence
    var changes: [ProductChange] = []
    while true {
      let page = try await store.changes(after: position, matching: filter, limit: limit)
      changes += page.changes
      if page.through == position { return changes }
      position = page.through
    }
  }

  @Test(
    "every write appends one change, in commit order, with the product as it left it",
    arguments: StoreFactory.all
  )
  func writesAreLogged(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      #expect(try await store.latestChangeSequence() == 0)
      let created = try await store.insert(.sample(category: "kitchen"))
      let updated = try await store.update(
        ProductUpdate(id: created.id, fields: [.category], values: .sample(category: "garden"))
      )
      try await store.attach([.sample(id: "img_1", productID: created.id, sha256: "ab")])
      let withImage = try await store.product(id: created.id)
      _ = try await store.delete(id: created.id, expectedETag: nil)

      let changes = try await Self.allChanges(store)
      #expect(changes.map(\.kind) == [.created, .updated, .updated, .deleted])
      #expect(changes.map(\.product) == [created, updated, withImage, withImage])
      #expect(changes.map(\.previousCategory) == [nil, "kitchen", nil, nil])
      #expect(zip(changes, changes.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
      #expect(try await store.latestChangeSequence() == changes.last?.sequence)
    }
  }

  @Test("a write that fails appends no change", arguments: StoreFactory.all)
  func failedWritesAreNotLogged(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample(sku: "TAKEN"))
      let head = try await store.latestChangeSequence()
      _ = try? await store.insert(.sample(sku: "TAKEN"))
      _ = try? await store.update(
        ProductUpdate(id: created.id, fields: [.name], values: .sample(), expectedETag: "stale")
      )
      _ = try? await store.delete(id: "p_unknown", expectedETag: nil)
      #expect(try await store.latestChangeSequence() == head)
      #expect(try await Self.allChanges(store, after: head).isEmpty)
    }
  }

  @Test(
    "changes resume exactly after a sequence, a page at a time",
    arguments: StoreFactory.all
  )
  func changesResume(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      for _ in 0 ..< 25 { _ = try await store.insert(.sample()) }
      let all = try await Self.allChanges(store)
      #expect(all.count == 25)
      let page = try await store.changes(after: all[9].sequence, matching: ChangeFilter(), limit: 5)
      #expect(page.changes == Array(all[10 ..< 15]))
      #expect(page.through == all[14].sequence)
      #expect(
        try await Self.allChanges(store, after: all[9].sequence, limit: 7) == Array(all[10...])
      )
      let atHead = try await store.changes(
        after: all[24].sequence,
        matching: ChangeFilter(),
        limit: 5
      )
      #expect(atHead.changes.isEmpty)
      #expect(atHead.through == all[24].sequence)
    }
  }

  @Test(
    "a category filter matches before or after the change; an id filter matches those ids",
    arguments: StoreFactory.all
  )
  func changeFilters(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let tea = try await store.insert(.sample(category: "tea"))
      let coffee = try await store.insert(.sample(category: "coffee"))
      _ = try await store.update(
        ProductUpdate(id: tea.id, fields: [.category], values: .sample(category: "coffee"))
      )
      _ = try await store.update(
        ProductUpdate(id: coffee.id, fields: [.name], values: .sample(name: "Renamed"))
      )
      let teaFeed = try await Self.allChanges(store, matching: ChangeFilter(category: "tea"))
      #expect(teaFeed.map(\.kind) == [.created, .updated])
      #expect(teaFeed.allSatisfy { $0.product.id == tea.id })
      let coffeeFeed = try await Self.allChanges(store, matching: ChangeFilter(category: "coffee"))
      #expect(coffeeFeed.count == 3)
      let byID = try await Self.allChanges(store, matching: ChangeFilter(ids: [coffee.id]))
      #expect(byID.map(\.kind) == [.created, .updated])
      let none = try await Self.allChanges(store, matching: ChangeFilter(ids: ["p_nobody"]))
      #expect(none.isEmpty)
    }
  }

  @Test(
    "a sequence never handed out, or one the log pruned, is outOfRange",
    arguments: StoreFactory.all
  )
  func outOfRangeSequences(_ factory: StoreFactory) async throws {
    try await factory.withStore(retention: ChangeRetention(maxCount: 10)) { store in
      for _ in 0 ..< 50 { _ = try await store.insert(.sample()) }
      let head = try await store.latestChangeSequence()
      #expect(head == 50)
      let future = await #expect(throws: StorefrontError.self) {
        try await store.changes(after: head + 1, matching: ChangeFilter(), limit: 10)
      }
      #expect(future?.code == .outOfRange)
      let pruned = await #expect(throws: StorefrontError.self) {
        try await store.changes(after: 0, matching: ChangeFilter(), limit: 10)
      }
      #expect(pruned?.code == .outOfRange)
      let recent = try await Self.allChanges(store, after: head - 5)
      #expect(recent.map(\.sequence) == Array(head - 4 ... head))
    }
  }

  @Test(
    "a write that prunes its own changes leaves only the kept ones readable",
    arguments: StoreFactory.all
  )
  func pruneInsideOneWrite(_ factory: StoreFactory) async throws {
    try await factory.withStore(retention: ChangeRetention(maxCount: 10)) { store in
      // Read once first, so that a tail filled only while someone reads is filled.
      _ = try await store.changes(after: 0, matching: ChangeFilter(), limit: 10)
      _ = try await store.upsert((0 ..< 30).map { _ in .sample() })
      let head = try await store.latestChangeSequence()
      #expect(head == 30)
      let pruned = await #expect(throws: StorefrontError.self) {
        try await store.changes(after: head - 11, matching: ChangeFilter(), limit: 100)
      }
      #expect(pruned?.code == .outOfRange)
      let kept = try await Self.allChanges(store, after: head - 10)
      #expect(kept.map(\.sequence) == Array(head - 9 ... head))
    }
  }

  @Test(
    "a category filter matches byte for byte, not by canonical equivalence",
    arguments: StoreFactory.all
  )
  func categoryFilterBytes(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      _ = try await store.changes(after: 0, matching: ChangeFilter(), limit: 10)
      _ = try await store.insert(.sample(category: "caf\u{E9}"))
      let composed = try await Self.allChanges(store, matching: ChangeFilter(category: "caf\u{E9}"))
      #expect(composed.count == 1)
      let decomposed = try await Self.allChanges(
        store,
        matching: ChangeFilter(category: "cafe\u{301}")
      )
      #expect(decomposed.isEmpty)
    }
  }

  @Test("changes older than the retention's age are pruned", arguments: StoreFactory.all)
  func pruneByAge(_ factory: StoreFactory) async throws {
    let retention = ChangeRetention(maxCount: 100, maxAge: .milliseconds(200))
    try await factory.withStore(retention: retention) { store in
      for _ in 0 ..< 10 { _ = try await store.insert(.sample()) }
      try await Task.sleep(for: .milliseconds(300))
      for _ in 0 ..< 10 { _ = try await store.insert(.sample()) }
      let error = await #expect(throws: StorefrontError.self) {
        try await store.changes(after: 0, matching: ChangeFilter(), limit: 10)
      }
      #expect(error?.code == .outOfRange)
      // The newest change is as young as can be when the log is pruned in its transaction.
      let kept = try await Self.allChanges(store, after: 19)
      #expect(kept.map(\.sequence) == [20])
    }
  }

  @Test("waitForChange returns once a later change commits", arguments: StoreFactory.all)
  func waitForChange(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let head = try await store.latestChangeSequence()
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.waitForChange(after: head) }
        _ = try await store.insert(.sample())
        try await group.waitForAll()
      }
      // Already past: returns at once.
      try await store.waitForChange(after: head)
    }
  }

  @Test("a cancelled waitForChange throws CancellationError", arguments: StoreFactory.all)
  func waitForChangeCancelled(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let head = try await store.latestChangeSequence()
      let waiter = Task { try await store.waitForChange(after: head) }
      try await Task.sleep(for: .milliseconds(20))
      waiter.cancel()
      await #expect(throws: CancellationError.self) { try await waiter.value }
    }
  }

  @Test(
    "upsert creates new skus, updates changed ones, leaves identical ones, and logs each write",
    arguments: StoreFactory.all
  )
  func upsertOutcomes(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let same = try await store.insert(.sample(sku: "SAME", name: "Same"))
      let changed = try await store.insert(.sample(sku: "CHANGED", name: "Before"))
      let head = try await store.latestChangeSequence()
      let outcomes = try await store.upsert([
        .sample(sku: "SAME", name: "Same"),
        .sample(sku: "CHANGED", name: "After"),
        .sample(sku: "NEW", name: "New"),
        .sample(sku: "NEW", name: "Newer"),
      ])
      #expect(outcomes == [.unchanged, .updated, .created, .updated])
      #expect(try await store.product(id: same.id) == same)
      let after = try await store.product(id: changed.id)
      #expect(after.draft.name == "After")
      #expect(after.etag != changed.etag)
      let changes = try await Self.allChanges(store, after: head)
      #expect(changes.map(\.kind) == [.updated, .created, .updated])
      #expect(changes.last?.product.draft.name == "Newer")
      #expect(try await store.productCount() == 3)
    }
  }

  @Test(
    "upsert refuses a batch with an invalid draft and writes none of it",
    arguments: StoreFactory.all
  )
  func upsertValidates(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.upsert([.sample(sku: "GOOD"), .sample(sku: "BAD", priceCents: -1)])
      }
      #expect(error?.code == .invalidArgument)
      let count = try await store.productCount()
      let head = try await store.latestChangeSequence()
      #expect(count == 0)
      #expect(head == 0)
    }
  }
}

extension ProductStoreContractTests {
  @Test(
    "a NUL in an id or a filter matches nothing, not the value before the NUL",
    arguments: StoreFactory.all
  )
  func nulMatchesNothing(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let product = try await store.insert(.sample(category: "tea"))
      let error = await #expect(throws: StorefrontError.self) {
        try await store.product(id: product.id + "\0junk")
      }
      #expect(error?.code == .notFound)
      let byCategory = try await store.products(
        matching: ProductFilter(category: "tea\0junk"),
        limit: 10
      )
      #expect(byCategory.isEmpty)
      let byQuery = try await store.products(matching: ProductFilter(query: "\0zzz"), limit: 10)
      #expect(byQuery.isEmpty)
      let changes = try await store.changes(
        after: 0,
        matching: ChangeFilter(ids: [product.id + "\0x"]),
        limit: 10
      )
      #expect(changes.changes.isEmpty)
    }
  }
}
