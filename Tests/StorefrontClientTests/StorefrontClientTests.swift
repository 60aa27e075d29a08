import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontClient
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("StorefrontClient against a real server over HTTP/2")
struct StorefrontClientTests {
  @Test("sign-in keeps the token for later calls; sign-out forgets it")
  func signInAndOut() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient(signedInAs: nil) { client in
        let session = try await client.signIn(
          username: ClientTestServer.staff,
          password: ClientTestServer.password
        )
        #expect(session.role == "staff")
        #expect(client.token == session.accessToken)
        let created = try await client.createProduct(.draft())
        #expect(created.id.hasPrefix("p_"))
        client.signOut()
        let error = await #expect(throws: StorefrontClientError.self) {
          _ = try await client.createProduct(.draft())
        }
        #expect(error?.code == .unauthenticated)
        #expect(error?.codeName == "UNAUTHENTICATED")
      }
    }
  }

  @Test("a wrong password is UNAUTHENTICATED and keeps no token")
  func wrongPassword() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient(signedInAs: nil) { client in
        let error = await #expect(throws: StorefrontClientError.self) {
          try await client.signIn(username: ClientTestServer.staff, password: "wrong")
        }
        #expect(error?.code == .unauthenticated)
        #expect(client.token == nil)
      }
    }
  }

  @Test("a refused write is one error type: code, field violations and request id")
  func errorsCarryDetails() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient { client in
        let error = await #expect(throws: StorefrontClientError.self) {
          _ = try await client.createProduct(.draft(priceCents: -1))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations.map(\.field) == ["product.price_cents"])
        #expect(error?.requestID?.isEmpty == false)
        #expect(error?.isLocal == false)
        let missing = await #expect(throws: StorefrontClientError.self) {
          _ = try await client.product(id: "p_missing")
        }
        #expect(missing?.code == .notFound)
      }
    }
  }

  @Test("get, update by fields with the etag, delete with the etag")
  func crud() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient { client in
        let created = try await client.createProduct(.draft())
        #expect(try await client.product(id: created.id) == created)
        var change = created
        change.priceCents = 999
        change.name = "not changed: not in the fields"
        let updated = try await client.updateProduct(change, fields: ["price_cents"])
        #expect(updated.priceCents == 999)
        #expect(updated.name == created.name)
        #expect(updated.etag != created.etag)
        // The old etag is stale now.
        let stale = await #expect(throws: StorefrontClientError.self) {
          try await client.deleteProduct(id: created.id, etag: created.etag)
        }
        #expect(stale?.code == .aborted)
        try await client.deleteProduct(id: created.id, etag: updated.etag)
        let gone = await #expect(throws: StorefrontClientError.self) {
          _ = try await client.product(id: created.id)
        }
        #expect(gone?.code == .notFound)
      }
    }
  }

  @Test("listing pages through every match in id order; limit and afterID are exact")
  func listingPages() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient { client in
        var ids: [String] = []
        for index in 0 ..< 7 {
          ids.append(try await client.createProduct(.draft(name: "Listed \(index)")).id)
        }
        _ = try await client.createProduct(
          .with {
            $0 = .draft()
            $0.category = "elsewhere"
          }
        )
        ids.sort()
        let query = ProductQuery(category: "client-tests")
        var all: [String] = []
        for try await product in client.products(query, pageSize: 3) {
          all.append(product.id)
        }
        #expect(all == ids)
        var limited = query
        limited.limit = 5
        var some: [String] = []
        for try await product in client.products(limited, pageSize: 2) {
          some.append(product.id)
        }
        #expect(some == Array(ids.prefix(5)))
        var after = query
        after.afterID = ids[4]
        var rest: [String] = []
        for try await product in client.products(after, pageSize: 100) {
          rest.append(product.id)
        }
        #expect(rest == Array(ids.suffix(2)))
      }
    }
  }

  @Test("import sends a sequence and answers the summary with the failures")
  func importProducts() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient { client in
        let products: [Storefront_V1_Product] = [.draft(), .draft(priceCents: -5), .draft()]
        let summary = try await client.importProducts(products)
        #expect(summary.created == 2)
        #expect(summary.failed == 1)
        #expect(summary.failures.map(\.position) == [1])
      }
    }
  }

  @Test("upload from files with progress; download resumes a partial file and checks it")
  func uploadAndDownload() async throws {
    try await ClientTestServer.with { server in
      try await server.withClient { client in
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let bytes = pngBytes(200_000)
        let source = folder.url.appendingPathComponent("mug.png")
        try Data(bytes).write(to: source)
        let product = try await client.createProduct(.draft())
        let file = try ImageFile(url: source)
        #expect(file.contentType == "image/png")
        #expect(file.size == Int64(bytes.count))
        let reported = Locked<[Int64]>([])
        let response = try await client.uploadImages([file], to: product.id, chunkSize: 16_384) {
          sent,
          total in
          #expect(total == Int64(bytes.count))
          reported.withLock { $0.append(sent) }
        }
        let progress = reported.withLock { $0 }
        #expect(progress == progress.sorted())
        #expect(progress.last == Int64(bytes.count))
        let image = try #require(response.images.first)
        #expect(image.sha256 == file.sha256)

        // A partial file resumes where it stops.
        let target = folder.url.appendingPathComponent("copy.png")
        try Data(bytes.prefix(50_000)).write(to: target)
        let resumed = try await client.downloadImage(id: image.imageID, to: target)
        #expect(resumed.resumedAt == 50_000)
        #expect(try Data(contentsOf: target) == Data(bytes))

        // A partial file with the wrong bytes is caught at the end, and a restart mends it.
        try Data(repeating: 1, count: 10_000).write(to: target)
        let corrupt = await #expect(throws: StorefrontClientError.self) {
          _ = try await client.downloadImage(id: image.imageID, to: target)
        }
        #expect(corrupt?.code == .dataLoss)
        #expect(corrupt?.isLocal == true)
        let restarted = try await client.downloadImage(id: image.imageID, to: target, restart: true)
        #expect(restarted.resumedAt == 0)
        #expect(try Data(contentsOf: target) == Data(bytes))
      }
    }
  }

  @Test("a file of no image type, or none at all, is refused before anything is sent")
  func badFiles() throws {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    let text = folder.url.appendingPathComponent("notes.txt")
    try Data("hello".utf8).write(to: text)
    let wrongType = #expect(throws: StorefrontClientError.self) { try ImageFile(url: text) }
    #expect(wrongType?.code == .invalidArgument)
    #expect(wrongType?.isLocal == true)
    let missing = #expect(throws: StorefrontClientError.self) {
      try ImageFile(url: folder.url.appendingPathComponent("gone.png"))
    }
    #expect(missing?.message.hasSuffix("does not exist") == true)
  }

  @Test("two members chat: both see every message in the same order")
  func chat() async throws {
    try await ClientTestServer.with { server in
      let room = try await StorefrontClient.with(server.configuration) { client in
        try await client.signIn(
          username: ClientTestServer.staff,
          password: ClientTestServer.password
        )
        return try await client.createProduct(.draft()).id
      }
      let seen = Locked<[String: [String]]>([:])
      try await withThrowingTaskGroup(of: Void.self) { group in
        for name in [ClientTestServer.staff, ClientTestServer.shopper] {
          group.addTask {
            try await server.withClient(signedInAs: name) { client in
              try await client.chat(room: room) { chat in
                try chat.send("hello from \(name)")
                for try await message in chat.messages where message.kind == .message {
                  let count = seen.withLock {
                    $0[name, default: []].append("\(message.sequence) \(message.text)")
                    return $0[name]?.count ?? 0
                  }
                  if count == 2 { chat.leave() }
                }
              }
            }
          }
        }
        try await group.waitForAll()
      }
      let lines = seen.withLock { $0 }
      #expect(lines[ClientTestServer.staff]?.count == 2)
      #expect(lines[ClientTestServer.staff] == lines[ClientTestServer.shopper])
    }
  }

  @Test("a watch resumes by itself across a server restart: nothing missed, nothing repeated")
  func watchResumes() async throws {
    let folder = try TemporaryDirectory()
    defer { folder.remove() }
    let sequences = Locked<[Int64]>([])
    let names = Locked<[String]>([])
    let starts = Locked<[Int64]>([])
    var port = 0
    var watch: Task<Void, any Error>?
    defer { watch?.cancel() }
    // The first server: the watch starts, two writes arrive, then the server drains, which
    // ends the watch with UNAVAILABLE.
    try await ClientTestServer.with(directory: folder) { server in
      port = server.port
      let configuration = server.configuration
      watch = Task {
        try await StorefrontClient.with(configuration) { client in
          try await client.watchChanges(
            StorefrontClient.ChangeFilter(category: "client-tests"),
            reconnect: StorefrontClient.Reconnect(maxAttempts: 500, maxBackoff: .milliseconds(100))
          ) { start in
            starts.withLock { $0.append(start) }
          } _: { change in
            sequences.withLock { $0.append(change.sequence) }
            names.withLock { $0.append(change.product.name) }
          }
        }
      }
      try await waitUntil { starts.withLock { !$0.isEmpty } }
      try await server.withClient { client in
        _ = try await client.createProduct(.draft(name: "before 1"))
        _ = try await client.createProduct(.draft(name: "before 2"))
      }
      try await waitUntil { names.withLock { $0.count == 2 } }
    }
    // The second server, on the same port and data: the watch reconnects by itself and
    // resumes after the last sequence it saw.
    try await ClientTestServer.with(directory: folder, port: port) { server in
      try await server.withClient { client in
        _ = try await client.createProduct(.draft(name: "after 1"))
        _ = try await client.createProduct(.draft(name: "after 2"))
      }
      try await waitUntil { names.withLock { $0.count == 4 } }
    }
    #expect(names.withLock { $0 } == ["before 1", "before 2", "after 1", "after 2"])
    let seen = sequences.withLock { $0 }
    #expect(seen == seen.sorted() && Set(seen).count == seen.count)
    #expect(starts.withLock { $0.count } == 1)
  }
}

/// Waits for `condition`, checking every 20 ms, for at most 30 s (a bound, not a timing).
func waitUntil(_ condition: () -> Bool) async throws {
  let deadline = ContinuousClock.now + .seconds(30)
  while !condition() {
    guard ContinuousClock.now < deadline else {
      Issue.record("the condition did not hold within 30 s")
      return
    }
    try await Task.sleep(for: .milliseconds(20))
  }
}
