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

  @Test(
    "chat messages said on A and B at once take one gap-free order; a reader on B never skips"
  )
  func racingChatOnBoth() async throws {
    try await self.withReplicas { a, b in
      let room = "p_room"
      let perWriter = 25
      let total = Int64(perWriter * 4)
      try await withThrowingTaskGroup(of: [ChatRecord].self) { group in
        // Reads "everything after the last one seen" while the writers race: a message that
        // committed late behind a higher sequence would be skipped here.
        group.addTask {
          var seen: [ChatRecord] = []
          var after: Int64 = 0
          while after < total {
            let batch = try await b.messages(room: room, after: after, limit: 7)
            #expect(
              batch.map(\.sequence) == Array((after + 1) ..< (after + 1 + Int64(batch.count)))
            )
            seen += batch
            after = seen.last?.sequence ?? 0
            if batch.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
          }
          return seen
        }
        for (writer, name) in [(a, "a1"), (a, "a2"), (b, "b1"), (b, "b2")] {
          group.addTask {
            for number in 1 ... perWriter {
              var record = ChatRecord.sample(room: room, sequence: 0)
              record.sender = name
              record.text = "\(name) \(number)"
              try await writer.append(record)
            }
            return []
          }
        }
        var read: [ChatRecord] = []
        for try await seen in group where !seen.isEmpty {
          read = seen
        }
        let stored = try await a.messages(room: room, after: 0, limit: 1_000)
        #expect(stored.map(\.sequence) == Array(1 ... total))
        #expect(read == stored)
        // Each writer's messages are in the order it said them.
        for name in ["a1", "a2", "b1", "b2"] {
          let texts = stored.filter { $0.sender == name }.map(\.text)
          #expect(texts == (1 ... perWriter).map { "\(name) \($0)" })
        }
      }
    }
  }

  @Test(
    "members on two replicas' hubs, senders on both: every member sees the same messages, once, in one order"
  )
  func chatAcrossHubs() async throws {
    try await self.withReplicas { a, b in
      let product = try await a.insert(.sample(name: "Chat room"))
      let room = product.id
      let hubA = ChatHub(store: a)
      let hubB = ChatHub(store: b)
      let ada = try await hubA.join(room: room, sender: "ada")
      let bob = try await hubB.join(room: room, sender: "bob")
      let perMember = 20
      try await withThrowingDiscardingTaskGroup { group in
        for member in [ada, bob] {
          group.addTask {
            for number in 1 ... perMember { try await member.say("\(member.sender) \(number)") }
          }
        }
      }
      // Ada saw her own JOIN (1), then Bob's (2), then the 40 messages; Bob from his JOIN.
      let adaSaw = try await ada.outbox.receive(count: 2 + 2 * perMember, within: .seconds(20))
      let bobSaw = try await bob.outbox.receive(count: 1 + 2 * perMember, within: .seconds(20))
      #expect(adaSaw.map(\.sequence) == Array(1 ... Int64(2 + 2 * perMember)))
      #expect(Array(adaSaw.dropFirst()) == bobSaw)
      #expect(bob.history.map(\.sequence) == [1])
      let stored = try await b.messages(room: room, after: 0, limit: 100)
      #expect(stored == adaSaw)
      // Nothing more: no repeats.
      #expect(ada.outbox.count == 0)
      #expect(bob.outbox.count == 0)

      // A LEAVE on B reaches A; a member joining on A later gets B's messages as history.
      await hubB.leave(bob)
      let left = try await ada.outbox.receive(within: .seconds(20))
      #expect(left.kind == .leave && left.sender == "bob")
      let cy = try await hubA.join(room: room, sender: "cy")
      #expect(cy.history.map(\.sequence) == Array(1 ... left.sequence))
      #expect(cy.history.last == left)
      await hubA.leave(cy)
      await hubA.leave(ada)
    }
  }

  @Test("deleting a product on A closes its chat room on B, with a notice")
  func deleteClosesRoomOnOtherReplica() async throws {
    try await self.withReplicas { a, b in
      let product = try await a.insert(.sample(name: "Doomed"))
      let hubB = ChatHub(store: b)
      let bob = try await hubB.join(room: product.id, sender: "bob")
      #expect(try await bob.outbox.receive(within: .seconds(20)).kind == .join)
      _ = try await a.delete(id: product.id, expectedETag: nil)
      let ending = try await bob.outbox.drain(within: .seconds(20))
      #expect(ending.map(\.kind) == [.system])
      #expect(ending.first?.text == "This product was deleted.")
      #expect(hubB.memberCount(room: product.id) == 0)
    }
  }
}
