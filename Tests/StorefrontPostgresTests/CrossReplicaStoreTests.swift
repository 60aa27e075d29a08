import Foundation
import StorefrontCore
import StorefrontPostgres
import StorefrontTestKit
import Testing

/// Two stores on one database, as two replicas run: each hears of the other's commits
/// through LISTEN/NOTIFY, and the change log hands out sequences in commit order.
@Suite(
  "PostgreSQL across replicas",
  .enabled(if: TestDatabase.isConfigured, "STOREFRONT_TEST_POSTGRES_URL is unset"),
  .serialized
)
struct CrossReplicaStoreTests {
  /// Runs `body` with two stores, A and B, on one fresh database, each read through its
  /// own cache and tail.
  func withReplicas(
    _ body: (
      _ a: CachedCatalogue<PostgresStore>,
      _ b: CachedCatalogue<PostgresStore>
    ) async throws -> Void
  ) async throws {
    let configure = { (url: PostgresDatabaseURL) in
      PostgresStore.Configuration(
        database: url,
        maximumConnections: 4,
        feed: ChangeFeed.Configuration(changeTailIdleTime: nil)
      )
    }
    try await TestDatabase.withTwoStores(configure) { a, b in
      try await body(CachedCatalogue(a, feed: a.feed), CachedCatalogue(b, feed: b.feed))
    }
  }

  @Test("a product B has cached is fresh on B once B hears of A's update")
  func updateOnAReadOnB() async throws {
    try await self.withReplicas { a, b in
      let created = try await a.insert(.sample(name: "Before"))
      let head = try await a.latestChangeSequence()
      try await b.waitForChange(after: head - 1)
      #expect(try await b.product(id: created.id) == created)
      let updated = try await a.update(
        ProductUpdate(id: created.id, fields: [.name], values: .sample(name: "After"))
      )
      // B's waiters wake only after B's cache forgot the product.
      try await b.waitForChange(after: head)
      #expect(try await b.product(id: created.id) == updated)
    }
  }

  @Test("the token key is made once, by the first replica to ask, and read by every other")
  func sharedTokenKey() async throws {
    try await self.withReplicas { a, b in
      let first = try await a.base.sharedTokenKey { Array(repeating: 1, count: 64) }
      let second = try await b.base.sharedTokenKey { Array(repeating: 2, count: 64) }
      #expect(first.created && !second.created)
      #expect(first.key == Array(repeating: 1, count: 64))
      #expect(second.key == first.key)
    }
  }

  @Test("a stale etag is refused on B even when B's cache has not heard of A's write yet")
  func etagsAreCheckedInTheDatabase() async throws {
    try await self.withReplicas { a, b in
      let created = try await a.insert(.sample(name: "Before"))
      _ = try await a.update(
        ProductUpdate(id: created.id, fields: [.name], values: .sample(name: "After"))
      )
      let error = await #expect(throws: StorefrontError.self) {
        try await b.update(
          ProductUpdate(
            id: created.id,
            fields: [.name],
            values: .sample(name: "Lost"),
            expectedETag: created.etag
          )
        )
      }
      #expect(error?.code == .aborted)
    }
  }

  @Test(
    "concurrent writers on A and B: a watcher on each sees every change once, in sequence order"
  )
  func concurrentWritersOnBoth() async throws {
    try await self.withReplicas { a, b in
      let perReplica = 40
      let total = Int64(perReplica * 2 * 2)  // an insert and an update each
      try await withThrowingTaskGroup(of: [ProductChange].self) { group in
        for watcher in [a, b] {
          group.addTask {
            var seen: [ProductChange] = []
            var after: Int64 = 0
            while after < total {
              let (changes, through) = try await watcher.changes(
                after: after,
                matching: ChangeFilter(),
                limit: 7
              )
              seen += changes
              if through == after {
                try await watcher.waitForChange(after: after)
              }
              after = through
            }
            return seen
          }
        }
        for writer in [a, b] {
          for index in 0 ..< perReplica {
            group.addTask {
              let product = try await writer.insert(.sample(name: "Writer \(index)"))
              _ = try await writer.update(
                ProductUpdate(id: product.id, fields: [.stock], values: .sample(stock: 9))
              )
              return []
            }
          }
        }
        var watched: [[ProductChange]] = []
        for try await seen in group where !seen.isEmpty {
          watched.append(seen)
        }
        let log = try await a.base.changes(after: 0, matching: ChangeFilter(), limit: 1_000)
        #expect(log.changes.map(\.sequence) == Array(1 ... total))
        #expect(Set(log.changes.filter { $0.kind == .created }.map(\.product.id)).count == 80)
        #expect(watched.count == 2)
        for seen in watched {
          #expect(seen.map(\.sequence) == log.changes.map(\.sequence))
          #expect(seen == log.changes)
        }
      }
    }
  }
}
