import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Draining")
struct DrainTests {
  /// Runs a server in a `ServiceGroup` whose grace period is `grace`, with a client; returns
  /// after the group has stopped. `body` gets the client, the group and the server.
  static func withDrainingServer(
    grace: Duration,
    directory: URL,
    _ body: @escaping @Sendable (ProductClient, ServiceGroup, SQLiteStore) async throws -> Void
  ) async throws {
    // One product per import batch: a committed product shows that a stream is running.
    var settings = StorefrontServer.Configuration(port: 0, dataDirectory: directory)
    settings.service.importBatchSize = 1
    settings.transport.implementation = TestServer.transport
    let server = try await StorefrontServer(
      configuration: settings,
      logger: Logger(label: "test") { _ in InMemoryLogHandler() }
    )
    var configuration = ServiceGroupConfiguration(
      services: [.init(service: server)],
      logger: Logger(label: "test") { _ in InMemoryLogHandler() }
    )
    configuration.maximumGracefulShutdownDuration = grace
    let group = ServiceGroup(configuration: configuration)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let token = try await TestServer.token(for: "drain-staff", role: .staff, on: server)
      try await TestServer.withClient(port: try await server.listeningPort, token: token) {
        client in
        try await body(client, group, server.sqlite)
      }
      try await tasks.waitForAll()
    }
  }

  static func productCount(in directory: URL) async throws -> Int {
    let store = try SQLiteStore(path: directory.appendingPathComponent("storefront.sqlite").path)
    defer { try? store.close() }
    return try await store.productCount()
  }

  @Test("a client stream that ends within the grace period completes and is acknowledged")
  func streamFinishesWithinGrace() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-drain-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let summary = Mutex(Storefront_V1_ImportProductsResponse())
    try await Self.withDrainingServer(grace: .seconds(5), directory: directory) {
      client,
      group,
      store in
      let result = try await client.importProducts { writer in
        try await writer.write(.with { $0.product = .sample() })
        // The stream runs on the server before shutdown begins: a stream the server has not
        // seen when it starts shutting down is refused (RST_STREAM, REFUSED_STREAM).
        let running = try await eventually { try await store.productCount() == 1 }
        #expect(running)
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(200))
        try await writer.write(.with { $0.product = .sample() })
      }
      summary.withLock { $0 = result }
    }
    #expect(summary.withLock { $0.created } == 2)
    #expect(try await Self.productCount(in: directory) == 2)
  }

  @Test("a call still streaming when the grace period ends is cut, and the server stops")
  func graceEnds() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-drain-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let ending = Mutex<RPCError.Code?>(nil)
    try await Self.withDrainingServer(grace: .milliseconds(500), directory: directory) {
      client,
      group,
      store in
      _ = try await client.create()
      let importing = Task {
        try await client.importProducts { writer in
          try await writer.write(.with { $0.product = .sample() })
          // Never ends on its own.
          try await Task.sleep(for: .seconds(60))
        }
      }
      let running = try await eventually { try await store.productCount() == 2 }
      #expect(running)
      await group.triggerGracefulShutdown()
      do {
        _ = try await importing.value
      } catch let error as RPCError {
        ending.withLock { $0 = error.code }
      }
    }
    // The stream was cut (the server's grace ran out), and the server stopped all the same.
    #expect(ending.withLock { $0 } != nil)
    // Every acknowledged write, and each committed batch, is on disk.
    #expect(try await Self.productCount(in: directory) == 2)
  }
}
