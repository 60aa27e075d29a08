import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("ImportProducts over HTTP/2")
struct ImportProductsTests {
  static func products(
    _ count: Int,
    prefix: String = "IMP",
    category: String = "imported"
  ) -> [Storefront_V1_ImportProductsRequest] {
    (0 ..< count).map { index in
      .with { $0.product = .sample(sku: "\(prefix)-\(index)", category: category) }
    }
  }

  @Test("new skus are created, changed ones updated, identical ones left; a rerun is safe")
  func upsertBySKU() async throws {
    try await TestServer.with { client, server in
      let existing = try await client.create(.sample(sku: "IMP-1", name: "Old name"))
      let batch = Self.products(1_200)
      let first = try await client.importProducts { writer in
        try await writer.write(contentsOf: batch)
      }
      #expect(first.created == 1_199)
      #expect(first.updated == 1)
      #expect(first.unchanged == 0)
      #expect(first.failed == 0)
      let renamed = try await client.getProduct(.with { $0.id = existing.id }).product
      #expect(renamed.name == "Sample")
      #expect(renamed.etag != existing.etag)

      let head = try await server.store.latestChangeSequence()
      let second = try await client.importProducts { writer in
        try await writer.write(contentsOf: batch)
      }
      #expect(second.created == 0)
      #expect(second.updated == 0)
      #expect(second.unchanged == 1_200)
      #expect(try await server.store.latestChangeSequence() == head)
      #expect(try await server.store.productCount() == 1_200)
    }
  }

  @Test("invalid products are listed with their position, sku and field; the rest land")
  func failuresAreListed() async throws {
    try await TestServer.with { client, server in
      var requests = Self.products(5)
      requests[1].product.priceCents = -1
      requests[3].product.sku = "bad sku!"
      requests[4].product.currency = "usd"
      let sent = requests
      let summary = try await client.importProducts { writer in
        try await writer.write(contentsOf: sent)
      }
      #expect(summary.created == 2)
      #expect(summary.failed == 3)
      #expect(summary.failures.map(\.position) == [1, 3, 4])
      #expect(summary.failures.map(\.sku) == ["IMP-1", "bad sku!", "IMP-4"])
      #expect(
        summary.failures.map(\.field) == ["product.price_cents", "product.sku", "product.currency"]
      )
      #expect(summary.failures.allSatisfy { !$0.reason.isEmpty })
      #expect(try await server.store.productCount() == 2)
    }
  }

  @Test("an empty import answers an all-zero summary")
  func emptyImport() async throws {
    try await TestServer.with { client, _ in
      let summary = try await client.importProducts { _ in }
      #expect(summary == Storefront_V1_ImportProductsResponse())
    }
  }

  @Test("an import cancelled midway keeps whole batches only; running it again completes it")
  func cancelledMidway() async throws {
    struct ClientGaveUp: Error {}
    let smallBatches: (inout StorefrontServer.Configuration) -> Void = {
      $0.service.importBatchSize = 100
    }
    try await TestServer.with(configure: smallBatches) { client, server in
      let batch = Self.products(1_000)
      await #expect(throws: (any Error).self) {
        try await client.importProducts { writer in
          try await writer.write(contentsOf: batch[..<250])
          // Wait until two batches have landed, then give up mid-stream.
          let landed = try await eventually { try await server.store.productCount() >= 200 }
          #expect(landed)
          throw ClientGaveUp()
        }
      }
      let settled = try await server.store.productCount()
      #expect(settled == 200)
      let again = try await client.importProducts { writer in
        try await writer.write(contentsOf: batch)
      }
      #expect(again.created == 800)
      #expect(again.unchanged == 200)
      #expect(try await server.store.productCount() == 1_000)
    }
  }

  @Test("the feed shows one CREATED change per imported product")
  func importShowsOnFeed() async throws {
    try await TestServer.with { client, _ in
      let watcher = Watcher(client, .with { $0.sinceSequence = 0 })
      _ = try await client.importProducts { writer in
        try await writer.write(contentsOf: Self.products(2_000))
      }
      #expect(try await watcher.waitFor(2_000))
      let changes = await watcher.stop()
      #expect(changes.count == 2_000)
      #expect(changes.allSatisfy { $0.kind == .created })
      #expect(Set(changes.map(\.product.sku)).count == 2_000)
    }
  }

  @Test("an import of 100,000 products lands whole and the feed shows each one once")
  func hundredThousand() async throws {
    try await TestServer.with { client, server in
      let count = 100_000
      let summary = try await client.importProducts { writer in
        for start in stride(from: 0, to: count, by: 1_000) {
          try await writer.write(
            contentsOf: (start ..< start + 1_000).map { index in
              .with { $0.product = .sample(sku: "BULK-\(index)", category: "bulk") }
            }
          )
        }
      }
      #expect(summary.created == Int64(count))
      #expect(summary.failed == 0)
      #expect(try await server.store.productCount() == count)
      let watcher = Watcher(client, .with { $0.sinceSequence = 0 })
      // A debug build streams some 10,000 changes a second.
      #expect(try await watcher.waitFor(count, within: 120))
      let changes = await watcher.stop()
      #expect(changes.count == count)
      let inOrder = changes.enumerated().allSatisfy { $0.element.sequence == $0.offset + 1 }
      #expect(inOrder)
      #expect(Set(changes.map(\.product.sku)).count == count)
    }
  }
}
