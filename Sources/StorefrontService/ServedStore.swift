public import Foundation
public import Logging
public import StorefrontCore
public import StorefrontPostgres
public import StorefrontSQLite

/// What the server needs of a store beyond the store contract: its feed, a health probe, an
/// end to live waits, and closing. SQLite (the embedded default) and PostgreSQL (several
/// replicas on one database) both serve.
public protocol ServedStore: StorefrontStore {
  /// The feed the store records its commits in; reads go through it.
  var feed: ChangeFeed { get }
  /// Whether the database answers, for health checks.
  func isReachable() async -> Bool
  /// Ends every wait for a change with `unavailable`: shutdown.
  func endChangeWaits()
  /// How many tasks wait for a change: watchers that have caught up.
  var changeWaiterCount: Int { get }
  /// Closes the store; later calls fail.
  func closeStore() throws
  /// Where this store's server counts failed sign-ins: where every server on the same data
  /// counts them.
  func loginThrottle(_ configuration: LoginThrottle.Configuration) -> any LoginThrottling
}

extension SQLiteStore: ServedStore {
  public func closeStore() throws {
    try self.close()
  }

  /// In memory: one process serves an SQLite store.
  public func loginThrottle(_ configuration: LoginThrottle.Configuration) -> any LoginThrottling {
    LoginThrottle(configuration: configuration)
  }
}

extension PostgresStore: ServedStore {
  public func closeStore() {
    self.close()
  }

  /// In the database, for every replica.
  public func loginThrottle(_ configuration: LoginThrottle.Configuration) -> any LoginThrottling {
    PostgresLoginThrottle(store: self, configuration: configuration)
  }
}

/// Which database a server (or a user command) uses, and where its images go.
public enum StoreLocation: Sendable {
  /// SQLite in the data directory, images as files beside it.
  case sqlite
  /// A PostgreSQL database every replica shares, images in it; the data directory holds
  /// only uploads in progress.
  case postgres(PostgresDatabaseURL)

  /// Opens the store and its image content: SQLite's files in `dataDirectory`, or the
  /// PostgreSQL database (migrated on the way) with uploads staged in `dataDirectory`.
  public func open(
    dataDirectory: URL,
    sqlite: SQLiteStore.Configuration = SQLiteStore.Configuration(),
    logger: Logger
  ) async throws -> (store: any ServedStore, content: any ImageContentStore) {
    switch self {
    case .sqlite:
      let store = try Self.openSQLite(dataDirectory: dataDirectory, configuration: sqlite)
      let content = try ImageBlobStore(
        root: dataDirectory.appendingPathComponent("images", isDirectory: true)
      )
      return (store, content)
    case .postgres(let url):
      let store = try await Self.openPostgres(url, configuration: sqlite, logger: logger)
      let content = try PostgresImageContentStore(
        store: store,
        stagingDirectory: dataDirectory.appendingPathComponent("staging", isDirectory: true)
      )
      return (store, content)
    }
  }

  /// Opens the store alone, for commands that touch no image.
  public func openStore(dataDirectory: URL, logger: Logger) async throws -> any ServedStore {
    switch self {
    case .sqlite:
      try Self.openSQLite(dataDirectory: dataDirectory, configuration: SQLiteStore.Configuration())
    case .postgres(let url):
      try await Self.openPostgres(url, configuration: SQLiteStore.Configuration(), logger: logger)
    }
  }

  private static func openSQLite(
    dataDirectory: URL,
    configuration: SQLiteStore.Configuration
  ) throws -> SQLiteStore {
    try SQLiteStore(
      path: dataDirectory.appendingPathComponent(SQLiteStore.fileName).path,
      configuration: configuration
    )
  }

  /// PostgreSQL with the retention and feed that `configuration` gives SQLite.
  private static func openPostgres(
    _ url: PostgresDatabaseURL,
    configuration: SQLiteStore.Configuration,
    logger: Logger
  ) async throws -> PostgresStore {
    try await PostgresStore(
      configuration: PostgresStore.Configuration(
        database: url,
        changeRetention: configuration.changeRetention,
        feed: configuration.feed
      ),
      logger: logger
    )
  }
}

/// The store wrapped in a ``CachedCatalogue`` over its own feed, opened from an existential.
func cachedCatalogue<Store: ServedStore>(_ store: Store) -> any ProductStore & ProductChangeStore {
  CachedCatalogue(store, feed: store.feed)
}
