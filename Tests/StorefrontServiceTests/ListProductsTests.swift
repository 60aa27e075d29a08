import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

@Suite("ListProducts over HTTP/2")
struct ListProductsTests {
  private func listAll(
    _ client: ProductClient,
    _ request: Storefront_V1_ProductRequest
  ) async throws -> [Storefront_V1_Product] {
    try await client.listProducts(request) { response in
      var products: [Storefront_V1_Product] = []
      for try await message in response.messages { products.append(message.product) }
      return products
    }
  }

  @Test("streams every match in id order; page_size and after_id resume exactly")
  func pagination() async throws {
    let smallBatches: (inout StorefrontServer.Configuration) -> Void = {
      $0.service.listBatchSize = 4
    }
    try await TestServer.with(configure: smallBatches) { client, _ in
      var ids: [String] = []
      for index in 0 ..< 23 {
        ids.append(try await client.create(.sample(name: "Item \(index)", category: "paged")).id)
      }
      _ = try await client.create(.sample(category: "other"))
      let all = try await self.listAll(client, .with { $0.category = "paged" })
      #expect(all.map(\.id) == ids.sorted())

      var walked: [String] = []
      var after = ""
      while true {
        let page = try await self.listAll(
          client,
          .with {
            $0.category = "paged"
            $0.pageSize = 5
            $0.afterID = after
          }
        )
        #expect(page.count <= 5)
        walked += page.map(\.id)
        guard page.count == 5, let last = page.last else { break }
        after = last.id
      }
      #expect(walked == ids.sorted())
    }
  }

  @Test("filters by category, case-insensitive query and inclusive price bounds")
  func filters() async throws {
    try await TestServer.with { client, _ in
      _ = try await client.create(
        .sample(name: "Blue Kettle", category: "kitchen", priceCents: 500)
      )
      _ = try await client.create(.sample(name: "Red kettle", category: "kitchen", priceCents: 900))
      _ = try await client.create(.sample(name: "Green Mug", category: "kitchen", priceCents: 300))
      _ = try await client.create(
        .sample(name: "Kettlebell", category: "sports", priceCents: 2_000)
      )
      let kettles = try await self.listAll(
        client,
        .with {
          $0.category = "kitchen"
          $0.query = "KETTLE"
        }
      )
      #expect(Set(kettles.map(\.name)) == ["Blue Kettle", "Red kettle"])
      let bounded = try await self.listAll(
        client,
        .with {
          $0.minPriceCents = 300
          $0.maxPriceCents = 500
        }
      )
      #expect(Set(bounded.map(\.name)) == ["Blue Kettle", "Green Mug"])
      let fields = try await expectRPCError(.invalidArgument) {
        _ = try await self.listAll(
          client,
          .with {
            $0.minPriceCents = 10
            $0.maxPriceCents = 5
          }
        )
      }
      #expect(fields == ["max_price_cents"])
      try await expectRPCError(.invalidArgument) {
        _ = try await self.listAll(client, .with { $0.pageSize = -1 })
      }
    }
  }

  @Test("a listing whose deadline passes while the client stalls stops the server's reading")
  func deadlineStopsReading() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-list-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
    _ = try await store.insert(contentsOf: (0 ..< 20_000).map(DemoCatalog.product(at:)))
    let counting = ProductStoreProbe(base: store)
    let service = ProductService(
      products: counting,
      changes: store,
      images: store,
      blobs: try ImageBlobStore(root: directory.appendingPathComponent("images")),
      chat: ChatHub(store: store),
      configuration: ProductService.Configuration(listBatchSize: 10),
      logger: Logger(label: "test") { _ in InMemoryLogHandler() }
    )
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: "127.0.0.1", port: 0),
      transportSecurity: .plaintext
    )
    let server = GRPCServer(
      transport: transport,
      services: [service],
      interceptors: [StatusInterceptor(logger: Logger(label: "test") { _ in InMemoryLogHandler() })]
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      let port = try #require(try await transport.listeningAddress.ipv4?.port)
      try await TestServer.withClient(port: port) { client in
        var options = CallOptions.defaults
        options.timeout = .milliseconds(500)
        // Read one product, then stall without reading: HTTP/2 flow control blocks the
        // server's writes until the deadline cancels the call.
        try await expectRPCError(.deadlineExceeded) {
          _ = try await client.listProducts(.with { $0.pageSize = 0 }, options: options) {
            response in
            var messages = response.messages.makeAsyncIterator()
            #expect(try await messages.next() != nil)
            try await Task.sleep(for: .seconds(1))
          }
        }
        // 2,000 batches would cover the catalogue; a cancelled listing must stop long before.
        // The server's own deadline fires a little after the client's: wait until its reads
        // have stood still for a while, then check they stay still.
        var settled = counting.count(.products)
        for _ in 0 ..< 50 {
          try await Task.sleep(for: .milliseconds(100))
          let now = counting.count(.products)
          if now == settled { break }
          settled = now
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(counting.count(.products) == settled)
        #expect(settled < 2_000)
      }
      server.beginGracefulShutdown()
    }
  }
}
