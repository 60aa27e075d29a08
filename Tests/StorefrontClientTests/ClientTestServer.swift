import Foundation
import Logging
import StorefrontAPI
import StorefrontClient
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf

/// A real Storefront server on 127.0.0.1 (a port the kernel picks, a fresh data directory)
/// with a staff user, for the client library's tests.
struct ClientTestServer: Sendable {
  static let staff = "client-staff"
  static let shopper = "client-shopper"
  static let password = "client-password"

  let server: StorefrontServer
  let port: Int

  /// The library's configuration for this server. The unary timeout is generous: these tests
  /// share two cores with every other suite of the run, and assert outcomes, never timings.
  var configuration: StorefrontClient.Configuration {
    StorefrontClient.Configuration(
      server: .init(host: "127.0.0.1", port: self.port),
      unaryTimeout: .seconds(60)
    )
  }

  /// Runs a server in `directory` (a fresh one when nil) on `port` (0: any) while `body`
  /// runs, then shuts it down and waits until it has stopped.
  static func with(
    directory: TemporaryDirectory? = nil,
    port: Int = 0,
    _ body: (ClientTestServer) async throws -> Void
  ) async throws {
    let folder = try directory ?? TemporaryDirectory()
    defer { if directory == nil { folder.remove() } }
    var configuration = StorefrontServer.Configuration(port: port, dataDirectory: folder.url)
    let hashing = PasswordHash.Parameters(logN: 10, blockSize: 8, parallelism: 1)
    configuration.auth.passwordHashing = hashing
    let server = try await StorefrontServer(
      configuration: configuration,
      logger: Logger(label: "client-tests") { _ in SwiftLogNoOpLogHandler() }
    )
    for (name, role) in [(Self.staff, Role.staff), (Self.shopper, .shopper)]
    where try await server.store.user(named: name) == nil {
      try await server.store.insert(
        User(
          username: name,
          role: role,
          passwordHash: try PasswordHasher(parameters: hashing).hash(Self.password)
        )
      )
    }
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.run() }
      defer { server.beginShutdown() }
      try await body(ClientTestServer(server: server, port: try await server.listeningPort))
    }
  }

  /// A client of this server signed in as `username`, for as long as `body` runs.
  func withClient(
    signedInAs username: String? = Self.staff,
    _ body: (StorefrontClient) async throws -> Void
  ) async throws {
    try await StorefrontClient.with(self.configuration) { client in
      if let username {
        try await client.signIn(username: username, password: Self.password)
      }
      try await body(client)
    }
  }
}

extension Storefront_V1_Product {
  /// A valid product with a sku of its own.
  static func draft(name: String = "Client mug", priceCents: Int64 = 1_250) -> Self {
    .with {
      $0.sku = "CL-\(UUID().uuidString.prefix(8))"
      $0.name = name
      $0.category = "client-tests"
      $0.priceCents = priceCents
      $0.currency = "USD"
      $0.stock = 3
    }
  }
}
