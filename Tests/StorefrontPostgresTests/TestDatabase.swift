import Foundation
import Logging
import PostgresNIO
import StorefrontCore
import StorefrontPostgres
import StorefrontTestKit

/// The PostgreSQL server the tests use: `STOREFRONT_TEST_POSTGRES_URL` (scripts/test.sh
/// starts one with scripts/lib/postgres.sh and sets it), its password, if any, in
/// `PGPASSWORD`. Each store the tests open gets a database of its own, dropped afterwards.
enum TestDatabase {
  /// The server, or nil when the variable is unset: then the PostgreSQL suites do not run,
  /// and say why.
  static let server: PostgresDatabaseURL? = {
    guard let text = ProcessInfo.processInfo.environment["STOREFRONT_TEST_POSTGRES_URL"],
      !text.isEmpty
    else { return nil }
    guard var url = try? PostgresDatabaseURL(parsing: text) else {
      fatalError("STOREFRONT_TEST_POSTGRES_URL is not a database URL: \(text)")
    }
    url.password = ProcessInfo.processInfo.environment["PGPASSWORD"]
    return url
  }()

  static let isConfigured = Self.server != nil

  /// Warnings and worse: postgres-nio logs every failed connection attempt at `info`.
  static let logger: Logger = {
    var logger = Logger(label: "storefront.tests.postgres")
    logger.logLevel = .warning
    return logger
  }()

  /// Runs `body` with two stores on one fresh database, as two replicas run, each opened with
  /// `configure`'s configuration; closes both and drops the database afterwards.
  static func withTwoStores(
    _ configure: (PostgresDatabaseURL) -> PostgresStore.Configuration = {
      PostgresStore.Configuration(database: $0, maximumConnections: 4)
    },
    _ body: (_ a: PostgresStore, _ b: PostgresStore) async throws -> Void
  ) async throws {
    let url = try await Self.create()
    let configuration = configure(url)
    let a = try await PostgresStore(configuration: configuration, logger: Self.logger)
    let b = try await PostgresStore(configuration: configuration, logger: Self.logger)
    do {
      try await body(a, b)
    } catch {
      a.close()
      b.close()
      try? await Self.drop(url)
      throw error
    }
    a.close()
    b.close()
    try await Self.drop(url)
  }

  /// Runs `sql` on the server's own database.
  static func administer(_ sql: String) async throws {
    guard let server = Self.server else { throw CancellationError() }
    let connection = try await PostgresConnection.connect(
      configuration: PostgresConnection.Configuration(
        host: server.host,
        port: server.port,
        username: server.username,
        password: server.password,
        database: server.database,
        tls: .disable
      ),
      id: 1,
      logger: Self.logger
    )
    defer { Task { try? await connection.close() } }
    do {
      _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
        .collect()
    } catch {
      throw AdministrationFailed(sql: sql, error: String(reflecting: error))
    }
  }

  /// A statement of ``administer(_:)`` failed: what PostgreSQL said, in full.
  struct AdministrationFailed: Error {
    var sql: String
    var error: String
  }

  /// A new, empty database on the server.
  static func create() async throws -> PostgresDatabaseURL {
    guard var url = Self.server else { throw CancellationError() }
    url.database =
      "storefront_test_"
      + UUID().uuidString.lowercased().replacingOccurrences(
        of: "-",
        with: ""
      )
    // From template0, which nobody connects to: CREATE DATABASE from template1 fails while
    // another one copies it.
    try await Self.administer("CREATE DATABASE \(url.database) TEMPLATE template0")
    return url
  }

  /// Drops a database `create()` made.
  static func drop(_ url: PostgresDatabaseURL) async throws {
    try await Self.administer("DROP DATABASE IF EXISTS \(url.database) WITH (FORCE)")
  }
}

extension StoreFactory {
  /// The PostgreSQL store as the server runs it: reads through its feed's cache and tail.
  static let postgres = Self.postgres(name: "PostgreSQL")

  /// PostgreSQL with no change tail and no product cache: every read goes to the database.
  static let postgresNoMemory = Self.postgres(
    name: "PostgreSQL, no cache or tail",
    feed: ChangeFeed.Configuration(productCacheCapacity: 0, changeTailCapacity: 0)
  )

  /// PostgreSQL with a change tail filled by every commit: reads after the writes are
  /// answered from memory.
  static let postgresFullTail = Self.postgres(
    name: "PostgreSQL, tail always filled",
    feed: ChangeFeed.Configuration(changeTailIdleTime: nil)
  )

  static let postgresVariants: [StoreFactory] = [.postgres, .postgresFullTail, .postgresNoMemory]

  private static func postgres(
    name: String,
    feed: ChangeFeed.Configuration = ChangeFeed.Configuration()
  ) -> StoreFactory {
    StoreFactory(name: name) { _, retention in
      let url = try await TestDatabase.create()
      let store = try await PostgresStore(
        configuration: PostgresStore.Configuration(
          database: url,
          maximumConnections: 3,
          changeRetention: retention,
          feed: feed
        ),
        logger: TestDatabase.logger
      )
      return Opened(
        store: CachedCatalogue(store, feed: store.feed),
        close: {
          store.close()
          try await TestDatabase.drop(url)
        }
      )
    }
  }
}
