import StorefrontCore
import StorefrontTestKit
import Testing

/// Watching the change log: where a watch starts, what it refuses, and the live feed.
@Suite("ChangeWatch", .timeLimit(.minutes(1)))
struct ChangeWatchTests {
  @Test("bad ids, too many ids and a negative since_sequence are refused, naming the field")
  func refusesBadRequests() async throws {
    try await StoreFactory.sqlite.withStore { store in
      let cases: [(ids: [String], since: Int64?, field: String)] = [
        (Array(repeating: "p_1", count: ChangeFilter.maxIDs + 1), nil, "ids"),
        (["p_1", ""], nil, "ids[1]"),
        ([], -1, "since_sequence"),
      ]
      for (ids, since, field) in cases {
        let error = await #expect(throws: StorefrontError.self) {
          _ = try await ChangeWatch(
            category: nil,
            ids: ids,
            sinceSequence: since,
            changes: store,
            batchSize: 10
          )
        }
        #expect(error?.fieldViolations.map(\.field) == [field])
      }
    }
  }

  @Test("a watch resumes after since_sequence, then follows live commits")
  func resumesThenFollows() async throws {
    try await StoreFactory.sqlite.withStore { store in
      let first = try await store.insert(.sample(category: "tea"))
      _ = try await store.insert(.sample(category: "coffee"))
      let watch = try await ChangeWatch(
        category: "tea",
        ids: [],
        sinceSequence: 0,
        changes: store,
        batchSize: 1
      )
      #expect(watch.start == 0)
      var changes = watch.makeAsyncIterator()
      #expect(try await changes.next()?.product.id == first.id)
      let later = try await store.insert(.sample(category: "tea"))
      let live = try await changes.next()
      #expect(live?.product.id == later.id)
      #expect(live?.kind == .created)
    }
  }

  @Test("a live watch starts at the head; a sequence never handed out is outOfRange")
  func startsAtHead() async throws {
    try await StoreFactory.sqlite.withStore { store in
      _ = try await store.insert(.sample())
      let live = try await ChangeWatch(
        category: nil,
        ids: [],
        sinceSequence: nil,
        changes: store,
        batchSize: 10
      )
      #expect(live.start == 1)
      let error = await #expect(throws: StorefrontError.self) {
        _ = try await ChangeWatch(
          category: nil,
          ids: [],
          sinceSequence: 5,
          changes: store,
          batchSize: 10
        )
      }
      #expect(error?.code == .outOfRange)
    }
  }

  @Test("a watcher the log pruned past ends with resourceExhausted")
  func fellBehind() async throws {
    try await StoreFactory.sqlite.withStore(retention: ChangeRetention(maxCount: 10)) { store in
      _ = try await store.insert(.sample())
      let watch = try await ChangeWatch(
        category: nil,
        ids: [],
        sinceSequence: 0,
        changes: store,
        batchSize: 1
      )
      var changes = watch.makeAsyncIterator()
      _ = try await changes.next()
      for _ in 0 ..< 40 { _ = try await store.insert(.sample()) }
      let error = await #expect(throws: StorefrontError.self) {
        while try await changes.next() != nil {}
      }
      #expect(error?.code == .resourceExhausted)
    }
  }
}
