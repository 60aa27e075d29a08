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

@Suite("Failures and cancellation over HTTP/2")
struct FailureTests {
  /// A store failure nobody planned for: its text must never reach a client.
  struct DiskOnFire: Error, CustomStringConvertible {
    var description: String { "secret-internal-detail: /var/db is on fire" }
  }

  @Test("an unexpected error answers a bare INTERNAL and is logged with its cause")
  func unexpectedErrorIsInternal() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-failures-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
    let log = InMemoryLogHandler()
    let logger = Logger(label: "test") { _ in log }
    let service = ProductService(
      // The real store, except that reading one product fails with ``DiskOnFire``.
      products: ProductStoreProbe(base: store) { operation in
        if operation == .product { throw DiskOnFire() }
      },
      changes: store,
      images: store,
      blobs: try ImageBlobStore(root: directory.appendingPathComponent("images")),
      chat: ChatHub(store: store),
      logger: logger
    )
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: "127.0.0.1", port: 0),
      transportSecurity: .plaintext
    )
    let server = GRPCServer(
      transport: transport,
      services: [service],
      interceptors: [AccessLogInterceptor(logger: logger), StatusInterceptor(logger: logger)]
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      let port = try #require(try await transport.listeningAddress.ipv4?.port)
      try await TestServer.withClient(port: port) { client in
        do {
          _ = try await client.getProduct(.with { $0.id = "p_any" })
          Issue.record("expected INTERNAL")
        } catch let error as RPCError {
          #expect(error.code == .internalError)
          #expect(!error.message.contains("secret"))
        }
        // The server still answers.
        _ = try await client.createProduct(.with { $0.product = .sample() })
      }
      server.beginGracefulShutdown()
    }
    let lines = log.entries.lines.withLock { $0 }
    #expect(lines.contains { $0.hasPrefix("error") && $0.contains("secret-internal-detail") })
  }

  @Test("a chat member whose RPC is cancelled on the server leaves the room, announced")
  func chatMemberLeavesOnCancellation() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      let stayer = ChatMember(
        name: "stayer",
        token: try await TestServer.token(for: "stayer", on: server)
      )
      let goner = ChatMember(
        name: "goner",
        token: try await TestServer.token(for: "goner", on: server)
      )
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await stayer.run(client, room: room) }
        let joined = try await eventually { server.chat.memberCount(room: room) == 1 }
        #expect(joined)
        // The goner joins, then its client resets the stream (the task is cancelled, so
        // RST_STREAM): the server cancels its RPC, so the leaving runs in a cancelled task
        // (unlike a client that ends its stream).
        let gonerCall = Task { try await goner.run(client, room: room) }
        let bothIn = try await eventually { server.chat.memberCount(room: room) == 2 }
        #expect(bothIn)
        gonerCall.cancel()
        _ = await gonerCall.result
        let oneLeft = try await eventually { server.chat.memberCount(room: room) == 1 }
        #expect(oneLeft)
        let announced = try await eventually {
          stayer.received.contains { $0.kind == .leave && $0.sender == "goner" }
        }
        #expect(announced)
        #expect(stayer.received.contains { $0.kind == .join && $0.sender == "goner" })
        stayer.leave()
      }
    }
  }
}
