import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import StorefrontAPI
import StorefrontClient
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import SwiftProtobuf
import Synchronization

typealias ProductClient = Storefront_V1_ProductService.Client<HTTP2ClientTransport.Posix>

/// Runs a real Storefront server on 127.0.0.1 with a port the kernel picks and a fresh data
/// directory, and a client connected to it over HTTP/2 that is signed in as an admin.
enum TestServer {
  /// The admin the default client is signed in as.
  static let adminUsername = "test-admin"
  /// The password of every user the tests make.
  static let password = "test-password"
  /// Cheap scrypt parameters, so that the hundreds of servers and users tests make cost little;
  /// the parameters are stored with each hash, so they verify as any other.
  static let cheapHashing = PasswordHash.Parameters(logN: 10, blockSize: 8, parallelism: 1)
  /// The transport the suite's servers run on: STOREFRONT_TRANSPORT, `storefront` (the
  /// server's default) or `nio`.
  static let transport =
    ProcessInfo.processInfo.environment["STOREFRONT_TRANSPORT"]
    .flatMap(TransportImplementation.init(rawValue:)) ?? .storefront

  static func with(
    configure: (inout StorefrontServer.Configuration) -> Void = { _ in },
    client security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
    _ body: (ProductClient, StorefrontServer) async throws -> Void
  ) async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var configuration = StorefrontServer.Configuration(port: 0, dataDirectory: directory)
    configuration.transport.implementation = Self.transport
    configuration.auth.passwordHashing = Self.cheapHashing
    configure(&configuration)
    let server = try await StorefrontServer(
      configuration: configuration,
      logger: Logger(label: "test") { _ in InMemoryLogHandler() }
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.run() }
      do {
        let port = try await server.listeningPort
        let token = try await Self.token(for: Self.adminUsername, role: .admin, on: server)
        try await withGRPC(port: port, token: token, security: security) { client in
          try await body(ProductClient(wrapping: client), server)
        }
      } catch {
        server.beginShutdown()
        throw error
      }
      server.beginShutdown()
    }
  }

  /// A client of the server on `port` that sends `token` on every call (none when nil).
  static func withClient(
    port: Int,
    token: String? = nil,
    _ body: (ProductClient) async throws -> Void
  ) async throws {
    try await withGRPC(port: port, token: token) { client in
      try await body(ProductClient(wrapping: client))
    }
  }

  /// A client for any service of the server on `port`, sending `token` (none when nil).
  static func withGRPC(
    port: Int,
    token: String? = nil,
    security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void
  ) async throws {
    try await withGRPCClient(
      transport: .http2NIOPosix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: security
      ),
      interceptors: token.map { [BearerTokenInterceptor(token: $0)] } ?? []
    ) { client in
      try await body(client)
    }
  }

  /// A token for `username` on `server`, adding the user (with ``password``) if it is new.
  static func token(
    for username: String,
    role: Role = .shopper,
    on server: StorefrontServer
  ) async throws -> String {
    if try await server.store.user(named: username) == nil {
      try await server.store.insert(
        User(
          username: username,
          role: role,
          passwordHash: try PasswordHasher(parameters: Self.cheapHashing).hash(Self.password)
        )
      )
    }
    return try await server.authenticator.tokens.issue(
      for: Principal(username: username, role: role)
    ).token
  }
}

extension Metadata {
  /// `authorization: Bearer <token>`, for calls that speak for someone else than their client.
  static func bearer(_ token: String) -> Self {
    ["authorization": "Bearer \(token)"]
  }
}

/// Keeps log entries in memory, so tests never bootstrap the logging system.
struct InMemoryLogHandler: LogHandler {
  final class Entries: Sendable {
    let lines = Mutex<[String]>([])
  }

  let entries = Entries()
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .trace

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let metadata = self.metadata.merging(event.metadata ?? [:]) { $1 }
      .sorted { $0.key < $1.key }
      .map { "\($0.key)=\($0.value)" }
      .joined(separator: " ")
    self.entries.lines.withLock { $0.append("\(event.level) \(event.message) \(metadata)") }
  }
}

/// Waits for `condition` to hold, checking every 20 ms for at most `seconds`: a bound, not a
/// timing. It is generous because the whole suite runs in parallel on two cores, where a join
/// or a staged upload has been seen to take over 5 s (CI, stop 18).
func eventually(
  within seconds: Double = 30,
  _ condition: () async throws -> Bool
) async throws -> Bool {
  let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try await Task.sleep(for: .milliseconds(20))
  }
  return try await condition()
}

extension Storefront_V1_Product {
  static func sample(
    sku: String = "SKU-\(UUID().uuidString.prefix(8))",
    name: String = "Sample",
    category: String = "tests",
    priceCents: Int64 = 1_000
  ) -> Self {
    .with {
      $0.sku = sku
      $0.name = name
      $0.description_p = "A product made by a test."
      $0.category = category
      $0.priceCents = priceCents
      $0.currency = "USD"
      $0.stock = 5
    }
  }
}

extension ProductClient {
  func create(_ product: Storefront_V1_Product = .sample()) async throws -> Storefront_V1_Product {
    try await self.createProduct(.with { $0.product = product }).product
  }
}

extension StorefrontServer {
  /// The SQLite store that every test server runs on.
  var sqlite: SQLiteStore { self.store as! SQLiteStore }
  /// The image files of a test server.
  var files: ImageBlobStore { self.blobs as! ImageBlobStore }
}
