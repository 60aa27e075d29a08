public import CoreMetrics
public import Foundation
import GRDB
public import StorefrontCore

/// The embedded default store: products, images and chat history in one SQLite file (WAL
/// mode, synchronous = FULL, so an acknowledged write survives a crash of the server or of
/// the machine).
public final class SQLiteStore: Sendable {
  /// How the store opens its database.
  public struct Configuration: Sendable {
    /// How many connections may read at once.
    public var maximumReaderCount: Int
    /// How long a write waits for a lock before failing.
    public var busyTimeout: TimeInterval

    /// How long the change log keeps changes.
    public var changeRetention: ChangeRetention
    /// What the store keeps in memory: the product cache and the change tail.
    public var feed: ChangeFeed.Configuration
    /// Where the latency of reads and writes goes (`storefront_store_query_duration_seconds`,
    /// by `kind`); nowhere when nil.
    public var metricsFactory: (any MetricsFactory)?

    public init(
      maximumReaderCount: Int = 4,
      busyTimeout: TimeInterval = 5,
      changeRetention: ChangeRetention = ChangeRetention(),
      feed: ChangeFeed.Configuration = ChangeFeed.Configuration(),
      metricsFactory: (any MetricsFactory)? = nil
    ) {
      self.maximumReaderCount = maximumReaderCount
      self.busyTimeout = busyTimeout
      self.changeRetention = changeRetention
      self.feed = feed
      self.metricsFactory = metricsFactory
    }
  }

  let pool: DatabasePool
  let changeRetention: ChangeRetention
  /// Told of every commit that appended to the change log; wrap the store in a
  /// ``CachedCatalogue`` over it to serve reads from memory.
  public let feed: ChangeFeed
  /// The latency of reads and of writes, when measured.
  private let timers: (read: CoreMetrics.Timer, write: CoreMetrics.Timer)?
  /// The database file.
  public let path: String

  /// The database file's name in a data directory.
  public static let fileName = "storefront.sqlite"

  /// Opens (creating and migrating as needed) the database at `path`.
  /// - Throws: when the file cannot be opened or migrated.
  public init(path: String, configuration: Configuration = Configuration()) throws {
    var config = GRDB.Configuration()
    config.maximumReaderCount = max(1, configuration.maximumReaderCount)
    config.busyMode = .timeout(configuration.busyTimeout)
    config.label = "storefront"
    config.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
      try db.execute(sql: "PRAGMA foreign_keys = ON")
      db.add(function: SQLiteStore.foldFunction)
    }
    self.path = path
    self.changeRetention = configuration.changeRetention
    self.timers = configuration.metricsFactory.map { factory in
      let label = "storefront_store_query_duration_seconds"
      return (
        CoreMetrics.Timer(label: label, dimensions: [("kind", "read")], factory: factory),
        CoreMetrics.Timer(label: label, dimensions: [("kind", "write")], factory: factory)
      )
    }
    let pool = try DatabasePool(path: path, configuration: config)
    try Self.migrator.migrate(pool)
    self.pool = pool
    self.feed = ChangeFeed(configuration: configuration.feed, head: try pool.read(Self.changeHead))
  }

  /// Case folding for `query` matches, Unicode-aware (SQLite's own LOWER is ASCII-only).
  static let foldFunction = DatabaseFunction("storefront_fold", argumentCount: 1, pure: true) {
    values in
    (String.fromDatabaseValue(values[0]) ?? "").lowercased()
  }

  /// A time as stored: whole microseconds since 1970.
  static func databaseTime(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
  }

  /// A stored time as a date.
  static func date(fromDatabase microseconds: Int64) -> Date {
    Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
  }

  /// The current time, rounded as the database stores it, so that what a write returns
  /// equals what a later read returns.
  static func now() -> Date {
    Self.date(fromDatabase: Self.databaseTime(Date()))
  }

  /// Closes the database; later calls fail.
  public func close() throws {
    try self.pool.close()
  }

  /// Runs `body` in a write transaction, translating SQLite's errors into domain errors.
  /// When the transaction appended to the change log, it prunes the log as its retention
  /// says and, once the commit succeeded, records the commit in the feed (on GRDB's writer
  /// queue, so in commit order, and before the write returns): the feed's tail gets the new
  /// changes if it wants them, its cache forgets the products they name, and watchers wake.
  /// Every product write appends to the change log (the watch feed depends on it), so the
  /// log's new entries name exactly the products to forget. (The commit hook is a transaction
  /// observer, for which GRDB stops reusing cached DELETE statements; the few deletes
  /// recompile, a few microseconds.)
  func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    let retention = self.changeRetention
    let feed = self.feed
    let start = ContinuousClock.now
    defer { self.timers?.write.recordSeconds((ContinuousClock.now - start) / .seconds(1)) }
    do {
      return try await self.pool.write { db -> T in
        let before = try Self.changeHead(db)
        let result = try body(db)
        let after = try Self.changeHead(db)
        guard after != before else { return result }
        let changes =
          feed.wantsChanges(count: after - before)
          ? try Self.changes(
            db.cachedStatement(
              sql: "SELECT * FROM product_change WHERE sequence > ? ORDER BY sequence"
            ),
            [before]
          ) : nil
        let changed: [String] =
          try changes?.map(\.product.id)
          ?? String.fetchAll(
            db.cachedStatement(sql: "SELECT id FROM product_change WHERE sequence > ?"),
            arguments: [before]
          )
        // What this commit pruned is all the tail needs to drop: it starts after a head,
        // and nothing older than a head is pruned without a commit that says so.
        let pruned = try Self.pruneChanges(db, head: after, before: before, retention: retention)
        let commit = ChangeFeed.Commit(
          previousHead: before,
          head: after,
          changes: changes,
          changedIDs: changed,
          prunedThrough: pruned
        )
        db.afterNextTransaction { _ in feed.record(commit) }
        return result
      }
    } catch let error as DatabaseError {
      throw Self.translate(error)
    }
  }

  /// Runs `body` on a read-only snapshot, translating SQLite's errors into domain errors.
  func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
    let start = ContinuousClock.now
    defer { self.timers?.read.recordSeconds((ContinuousClock.now - start) / .seconds(1)) }
    do {
      return try await self.pool.read(body)
    } catch let error as DatabaseError {
      throw Self.translate(error)
    }
  }

  static func translate(_ error: DatabaseError) -> StorefrontError {
    switch error.extendedResultCode {
    case .SQLITE_CONSTRAINT_UNIQUE where error.message?.contains("product.sku") == true:
      return StorefrontError(
        code: .alreadyExists,
        message: "a product with this sku already exists",
        cause: error
      )
    default:
      break
    }
    switch error.resultCode {
    case .SQLITE_FULL:
      return StorefrontError(
        code: .resourceExhausted,
        message: "the server's disk is full",
        cause: error
      )
    case .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CANTOPEN,
      .SQLITE_MISUSE:
      return StorefrontError(code: .unavailable, message: "the store is unavailable", cause: error)
    default:
      return StorefrontError(code: .internalError, message: "store failure", cause: error)
    }
  }
}

extension Database {
  /// Executes `sql` with a statement compiled once per connection and then reused: the
  /// store's statements run many thousands of times, and compiling them would be most of
  /// their cost.
  func execute(cached sql: String, arguments: StatementArguments = []) throws {
    try self.cachedStatement(sql: sql).execute(arguments: arguments)
  }
}

extension SQLiteStore {
  /// Whether the database answers: its file is still where it was opened and a read of it
  /// succeeds. For health checks.
  public func isReachable() async -> Bool {
    guard FileManager.default.fileExists(atPath: self.path) else { return false }
    do {
      _ = try await self.read(Self.changeHead)
      return true
    } catch {
      return false
    }
  }
}
