import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

/// A watch running in the background, collecting what it receives.
final class Watcher: Sendable {
  private final class Received: Sendable {
    let state = Mutex<(changes: [Storefront_V1_ProductChange], head: String?)>(([], nil))
  }

  private let received = Received()
  private let task: Task<RPCError.Code?, any Error>

  init(_ client: ProductClient, _ request: Storefront_V1_WatchProductsRequest = .init()) {
    let received = self.received
    self.task = Task {
      do {
        try await client.watchProducts(request) { response in
          let head = response.metadata[stringValues: ProductService.changeSequenceKey]
            .first { _ in true }
          received.state.withLock { $0.head = head }
          for try await change in response.messages {
            received.state.withLock { $0.changes.append(change) }
          }
        }
        return nil
      } catch let error as RPCError {
        return error.code
      }
    }
  }

  var changes: [Storefront_V1_ProductChange] { self.received.state.withLock { $0.changes } }
  var head: String? { self.received.state.withLock { $0.head } }

  /// Waits until `count` changes have arrived, for at most `seconds`.
  func waitFor(_ count: Int, within seconds: Double = 5) async throws -> Bool {
    try await eventually(within: seconds) { self.changes.count >= count }
  }

  /// Waits until the response header has arrived.
  func started() async throws -> Bool {
    // Generous: starting takes seconds under the sanitizers.
    try await eventually(within: 20) { self.head != nil }
  }

  /// Waits until the watch has started and its server side waits for the next change.
  func caughtUp(on server: StorefrontServer) async throws -> Bool {
    guard try await self.started() else { return false }
    return try await eventually(within: 20) { server.store.changeWaiterCount == 1 }
  }

  /// Cancels the watch; returns the changes it got.
  func stop() async -> [Storefront_V1_ProductChange] {
    self.task.cancel()
    _ = try? await self.task.value
    return self.changes
  }

  /// How the stream ended: nil when it ended well.
  func ending() async throws -> RPCError.Code? {
    try await self.task.value
  }
}

@Suite("WatchProducts over HTTP/2")
struct WatchProductsTests {
  @Test("a live watch gets every write once, in commit order; the header carries the head")
  func liveFeed() async throws {
    try await TestServer.with { client, _ in
      _ = try await client.create()
      let watcher = Watcher(client)
      #expect(try await watcher.started())
      #expect(watcher.head == "1")
      let created = try await client.create(.sample(category: "watched"))
      let updated = try await client.updateProduct(
        .with {
          $0.product = created
          $0.product.stock = 42
          $0.updateMask = .with { $0.paths = ["stock"] }
        }
      ).product
      _ = try await client.deleteProduct(.with { $0.id = created.id })
      #expect(try await watcher.waitFor(3))
      let changes = await watcher.stop()
      #expect(changes.map(\.kind) == [.created, .updated, .deleted])
      #expect(changes.map(\.sequence) == [2, 3, 4])
      #expect(changes[0].product == created)
      #expect(changes[1].product == updated)
      #expect(changes[2].product.id == created.id)
    }
  }

  @Test("a watcher that reconnects with since_sequence misses nothing and repeats nothing")
  func reconnectWithoutGap() async throws {
    try await TestServer.with { client, _ in
      let first = Watcher(client, .with { $0.sinceSequence = 0 })
      var written: [String] = []
      for _ in 0 ..< 5 { written.append(try await client.create().id) }
      #expect(try await first.waitFor(3))
      let before = await first.stop()
      // Writes while nobody watches.
      for _ in 0 ..< 5 { written.append(try await client.create().id) }
      let last = try #require(before.last?.sequence)
      let second = Watcher(client, .with { $0.sinceSequence = last })
      // The header names where the stream starts: resuming from it loses nothing.
      let started = try await second.started()
      #expect(started)
      #expect(second.head == "\(last)")
      for _ in 0 ..< 5 { written.append(try await client.create().id) }
      #expect(try await second.waitFor(written.count - before.count))
      let after = await second.stop()
      let all = before + after
      #expect(all.map(\.product.id) == written)
      #expect(all.map(\.sequence) == Array(1 ... Int64(written.count)))
    }
  }

  @Test("filters: a category before or after the change, and product ids")
  func filters() async throws {
    try await TestServer.with { client, _ in
      let tea = try await client.create(.sample(category: "tea"))
      let other = try await client.create(.sample(category: "other"))
      let byCategory = Watcher(
        client,
        .with {
          $0.category = "tea"
          $0.sinceSequence = 0
        }
      )
      let byID = Watcher(
        client,
        .with {
          $0.ids = [other.id]
          $0.sinceSequence = 0
        }
      )
      _ = try await client.updateProduct(
        .with {
          $0.product = tea
          $0.product.category = "coffee"
          $0.updateMask = .with { $0.paths = ["category"] }
        }
      )
      _ = try await client.deleteProduct(.with { $0.id = other.id })
      #expect(try await byCategory.waitFor(2))
      #expect(try await byID.waitFor(2))
      let teaChanges = await byCategory.stop()
      let otherChanges = await byID.stop()
      #expect(teaChanges.map(\.kind) == [.created, .updated])
      #expect(teaChanges.last?.product.category == "coffee")
      #expect(otherChanges.map(\.kind) == [.created, .deleted])
      #expect(otherChanges.allSatisfy { $0.product.id == other.id })
    }
  }

  @Test("bad requests answer INVALID_ARGUMENT or OUT_OF_RANGE before the stream starts")
  func badRequests() async throws {
    let shortLog: (inout StorefrontServer.Configuration) -> Void = {
      $0.changeRetention = .init(maxCount: 10)
    }
    try await TestServer.with(configure: shortLog) { client, _ in
      for _ in 0 ..< 30 { _ = try await client.create() }
      let cases: [(Storefront_V1_WatchProductsRequest, RPCError.Code)] = [
        (.with { $0.sinceSequence = -1 }, .invalidArgument),
        (.with { $0.ids = (0 ... 100).map { "p_\($0)" } }, .invalidArgument),
        (.with { $0.ids = [""] }, .invalidArgument),
        (.with { $0.sinceSequence = 31 }, .outOfRange),
        (.with { $0.sinceSequence = 0 }, .outOfRange),
      ]
      for (request, code) in cases {
        let ending = try await Watcher(client, request).ending()
        #expect(ending == code, "\(request)")
      }
      // Within the retention, resuming works.
      let recent = Watcher(client, .with { $0.sinceSequence = 25 })
      #expect(try await recent.waitFor(5))
      let sequences = await recent.stop().map(\.sequence)
      #expect(sequences == [26, 27, 28, 29, 30])
    }
  }

  @Test("a watcher that falls behind the change log's retention is cut off, RESOURCE_EXHAUSTED")
  func fallingBehindIsCutOff() async throws {
    let shortLog: (inout StorefrontServer.Configuration) -> Void = {
      $0.changeRetention = .init(maxCount: 10)
      $0.service.watchBatchSize = 1
    }
    try await TestServer.with(configure: shortLog) { client, server in
      let watcher = Watcher(client)
      #expect(try await watcher.started())
      _ = try await client.create()
      #expect(try await watcher.waitFor(1))
      // One transaction of 100 writes: the log keeps only the newest 10, so the changes
      // after the one the watcher has are gone before it can read them.
      _ = try await server.store.upsert(
        (0 ..< 100).map { ProductDraft(sku: "BULK-\($0)", name: "Bulk", priceCents: 1) }
      )
      let ending = try await watcher.ending()
      #expect(ending == .resourceExhausted)
      #expect(watcher.changes.count == 1)
      _ = try await client.create()
    }
  }

  @Test("cancelling a watch ends its server task")
  func cancelEndsServerWork() async throws {
    try await TestServer.with { client, server in
      let watcher = Watcher(client)
      let waiting = try await watcher.caughtUp(on: server)
      #expect(waiting)
      _ = await watcher.stop()
      let ended = try await eventually { server.store.changeWaiterCount == 0 }
      #expect(ended)
    }
  }

  @Test("shutdown ends a live watch with UNAVAILABLE, and the server stops")
  func shutdownEndsWatches() async throws {
    try await TestServer.with { client, server in
      let watcher = Watcher(client)
      let waiting = try await watcher.caughtUp(on: server)
      #expect(waiting)
      server.beginShutdown()
      let ending = try await watcher.ending()
      #expect(ending == .unavailable)
    }
  }
}
