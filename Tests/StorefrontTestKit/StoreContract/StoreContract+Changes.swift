import Foundation
import StorefrontCore
import Testing

extension StoreContract {
  /// Every change after `sequence`, read in pages of `limit`.
  static func allChanges(
    _ store: any StorefrontStore,
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

  static let writesAreLogged = Case(
    "every write appends one change, in commit order, with the product as it left it"
  ) { factory in
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

  static let failedWritesAreNotLogged = Case("a write that fails appends no change") { factory in
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

  static let changesResume = Case("changes resume exactly after a sequence, a page at a time") {
    factory in
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

  static let changeFilters = Case(
    "a category filter matches before or after the change; an id filter matches those ids"
  ) { factory in
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

  static let outOfRangeSequences = Case(
    "a sequence never handed out, or one the log pruned, is outOfRange"
  ) { factory in
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

  static let pruneInsideOneWrite = Case(
    "a write that prunes its own changes leaves only the kept ones readable"
  ) { factory in
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

  static let categoryFilterBytes = Case(
    "a category filter matches byte for byte, not by canonical equivalence"
  ) { factory in
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

  static let pruneByAge = Case("changes older than the retention's age are pruned") { factory in
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

  static let waitForChange = Case("waitForChange returns once a later change commits") { factory in
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

  static let waitForChangeCancelled = Case("a cancelled waitForChange throws CancellationError") {
    factory in
    try await factory.withStore { store in
      let head = try await store.latestChangeSequence()
      let waiter = Task { try await store.waitForChange(after: head) }
      try await Task.sleep(for: .milliseconds(20))
      waiter.cancel()
      await #expect(throws: CancellationError.self) { try await waiter.value }
    }
  }

  static let upsertOutcomes = Case(
    "upsert creates new skus, updates changed ones, leaves identical ones, and logs each write"
  ) { factory in
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

  static let upsertDistinctSkus = Case(
    "an upsert of distinct skus logs each write in the batch's order, as the product now is"
  ) { factory in
    try await factory.withStore { store in
      let moved = try await store.insert(.sample(sku: "MOVED", category: "tea"))
      let same = try await store.insert(.sample(sku: "SAME", name: "Same"))
      let head = try await store.latestChangeSequence()
      let outcomes = try await store.upsert([
        .sample(sku: "FIRST", name: "First"),
        .sample(sku: "MOVED", category: "coffee"),
        .sample(sku: "SAME", name: "Same"),
        .sample(sku: "LAST", name: "Last", description: "Grüße, 世界"),
      ])
      #expect(outcomes == [.created, .updated, .unchanged, .created])
      let changes = try await Self.allChanges(store, after: head)
      #expect(changes.map(\.sequence) == [head + 1, head + 2, head + 3])
      #expect(changes.map(\.kind) == [.created, .updated, .created])
      #expect(changes.map(\.product.draft.sku) == ["FIRST", "MOVED", "LAST"])
      #expect(changes.map(\.previousCategory) == [nil, "tea", nil])
      for change in changes {
        #expect(try await store.product(id: change.product.id) == change.product)
      }
      let after = try await store.product(id: moved.id)
      #expect(after.draft.category == "coffee" && after.etag != moved.etag)
      #expect(after.createTime == moved.createTime && after.updateTime >= moved.updateTime)
      #expect(try await store.product(id: same.id) == same)
      #expect(try await store.products(matching: ProductFilter(query: "世界"), limit: 10).count == 1)
      #expect(try await store.productCount() == 4)
    }
  }

}

extension StoreContract {
  static let nulMatchesNothing = Case(
    "a NUL in an id or a filter matches nothing, not the value before the NUL"
  ) { factory in
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
