import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import StorefrontCore
import Synchronization
import _ConnectionPoolModule

/// The shared store for several replicas: products, images, chat history, users and the
/// change log in one PostgreSQL database, through postgres-nio's `PostgresClient` and its
/// pool.
///
/// It behaves as ``SQLiteStore`` does, byte for byte (text compares in the "C" collation,
/// `query` matches fold with Swift's `lowercased()` at write time); docs/postgres.md lists
/// what differs. Every transaction that writes products first locks the one row of
/// `product_change_state`, which holds the change log's head: writers of all replicas are
/// serialised there, so sequences are handed out in commit order and a reader of
/// "everything after N" never skips a change that committed late.
public final class PostgresStore: Sendable {
  /// How the store reaches its database.
  public struct Configuration: Sendable {
    /// Where the database is, who to log in as, and TLS.
    public var database: PostgresDatabaseURL
    /// How many connections the pool opens at most (at least 3: one listens for other
    /// replicas' commits, and placing images holds one while recording on another).
    public var maximumConnections: Int
    /// How long the change log keeps changes.
    public var changeRetention: ChangeRetention
    /// What the store keeps in memory: the product cache and the change tail.
    public var feed: ChangeFeed.Configuration

    public init(
      database: PostgresDatabaseURL,
      maximumConnections: Int = 8,
      changeRetention: ChangeRetention = ChangeRetention(),
      feed: ChangeFeed.Configuration = ChangeFeed.Configuration()
    ) {
      self.database = database
      self.maximumConnections = maximumConnections
      self.changeRetention = changeRetention
      self.feed = feed
    }
  }

  let client: PostgresClient
  private let runner: Task<Void, Never>
  /// Listens for other replicas' commits; see ``ChangeFollower``.
  let follower: ChangeFollower
  private let following: Task<Void, Never>
  let changeRetention: ChangeRetention
  let logger: Logger
  /// Serialises this replica's product writes with recording them in ``feed``, so the feed
  /// hears of them in commit order.
  let recordGate = SerialGate()
  /// Told of every commit that appended to the change log; wrap the store in a
  /// ``CachedCatalogue`` over it to serve reads from memory.
  public let feed: ChangeFeed
  /// Whether the database is taken as down: set while ``ChangeFollower`` has lost its
  /// connection and not yet listens again. Calls then fail at once with `unavailable`, where
  /// a lease would wait for a pooled connection until their deadline.
  let reachability = Reachability()
  /// Told of every chat message any replica commits, and of rooms closed; see
  /// ``ChangeFollower``. The hub hears them through ``chatNotices``.
  let notices = ChatNotices()

  /// Connects to the database and migrates its schema (once, under an advisory lock, when
  /// replicas start together).
  /// - Throws: ``StorefrontError`` `unavailable` when the database cannot be reached.
  public init(configuration: Configuration, logger: Logger) async throws {
    var clientConfiguration = try configuration.database.clientConfiguration()
    clientConfiguration.options.maximumConnections = max(3, configuration.maximumConnections)
    clientConfiguration.options.connectTimeout = .seconds(5)
    let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    self.client = client
    // The pool serves leases only once run() has begun: wait for the task to start it.
    let (started, starting) = AsyncStream<Void>.makeStream()
    self.runner = Task {
      starting.finish()
      await client.run()
    }
    for await _ in started {}
    await Task.yield()
    self.changeRetention = configuration.changeRetention
    self.logger = logger
    do {
      try await Self.migrate(client, logger: logger)
      let head = try await Self.withConnection(client) { connection in
        try await Self.changeState(connection, logger: logger).head
      }
      self.feed = ChangeFeed(configuration: configuration.feed, head: head)
    } catch {
      self.runner.cancel()
      throw Self.translate(error)
    }
    let follower = ChangeFollower(
      client: client,
      feed: self.feed,
      chat: self.notices,
      reachability: self.reachability,
      gate: self.recordGate,
      logger: logger
    )
    self.follower = follower
    self.following = Task { await follower.run() }
  }

  /// Stops following other replicas and closes the pool; later calls fail.
  public func close() {
    self.following.cancel()
    self.runner.cancel()
  }

  /// A time as stored: whole microseconds since 1970.
  static func databaseTime(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
  }

  /// A stored time as a date.
  static func date(fromDatabase microseconds: Int64) -> Date {
    Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
  }

  /// The current time, rounded as the database stores it.
  static func now() -> Date {
    Self.date(fromDatabase: Self.databaseTime(Date()))
  }

  /// Whether `text` holds a NUL: PostgreSQL's text cannot, so such a value matches nothing
  /// (as on SQLite, where no stored value holds one either).
  static func containsNUL(_ text: String) -> Bool {
    text.utf8.contains(0)
  }

  /// Runs `body` on a leased connection, translating PostgreSQL's errors into domain errors.
  static func withConnection<T: Sendable>(
    _ client: PostgresClient,
    _ body: (PostgresConnection) async throws -> T
  ) async throws -> T {
    do {
      return try await client.withConnection { connection in try await body(connection) }
    } catch {
      throw Self.translate(error)
    }
  }

  /// Runs `body` on a leased connection, as ``withConnection(_:_:)`` does; while the
  /// database is taken as down (``reachability``), fails at once instead.
  /// - Throws: ``StorefrontError`` `unavailable` while the database is down; what `body` and
  ///   the lease throw, translated.
  func withConnection<T: Sendable>(
    _ body: (PostgresConnection) async throws -> T
  ) async throws -> T {
    guard !self.reachability.isDown else {
      throw StorefrontError(
        code: .unavailable,
        message: "the store is unavailable: the database cannot be reached"
      )
    }
    return try await Self.withConnection(self.client, body)
  }

  /// Runs `body` in a transaction of its own (not shielded from cancellation).
  func transaction<T: Sendable>(
    isolation: String = "READ COMMITTED",
    _ body: @escaping @Sendable (PostgresConnection) async throws -> T
  ) async throws -> T {
    let logger = self.logger
    return try await self.withConnection { connection in
      try await connection.query(
        PostgresQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolation)"),
        logger: logger
      )
      do {
        let result = try await body(connection)
        try await connection.query("COMMIT", logger: logger)
        return result
      } catch {
        _ = try? await connection.query("ROLLBACK", logger: logger)
        throw error
      }
    }
  }

  /// Runs `body` on a consistent snapshot.
  func read<T: Sendable>(
    _ body: @escaping @Sendable (PostgresConnection) async throws -> T
  ) async throws -> T {
    try await self.transaction(isolation: "REPEATABLE READ READ ONLY", body)
  }

  /// Runs `body` in a write transaction that may append to the change log, to its end even
  /// when the caller is cancelled. The transaction first locks the change log's head (every
  /// product writer of every replica waits there), so `body` sees the catalogue as no one
  /// else is changing it and its changes get the next sequences. It prunes the log as the
  /// retention says and, once the commit succeeded, records the commit in the feed, in
  /// commit order and before the write returns.
  func write<T: Sendable>(
    _ body: @escaping @Sendable (ChangeWriter) async throws -> T
  ) async throws -> T {
    let store = self
    return try await Task {
      try await store.recordGate.run {
        let (result, commit) = try await store.transaction { connection in
          let state = try await Self.changeState(connection, logger: store.logger, locking: true)
          let writer = ChangeWriter(connection: connection, logger: store.logger, head: state.head)
          let result = try await body(writer)
          let commit = try await store.finish(writer, before: state.head)
          return (result, commit)
        }
        if let commit {
          // Other replicas' commits before this one first, so the feed hears all in order.
          try? await store.follower.catchUp(to: commit.previousHead)
          if store.feed.head != commit.previousHead {
            store.feed.forgetAll(head: commit.previousHead)
          }
          store.feed.record(commit)
        }
        return result
      }
    }.value
  }

  /// Runs `body` in a write transaction that does not touch the catalogue.
  func writeUnlogged<T: Sendable>(
    _ body: @escaping @Sendable (PostgresConnection) async throws -> T
  ) async throws -> T {
    let store = self
    return try await Task { try await store.transaction(body) }.value
  }

  /// The domain error for an error of postgres-nio: the database's refusals by their SQL
  /// state, everything about reaching it as `unavailable`; other errors pass unchanged.
  static func translate(_ error: any Error) -> any Error {
    if error is StorefrontError || error is CancellationError { return error }
    if error is ConnectionPoolError {
      // The pool gave up connecting (the database is down) or is shut down.
      return StorefrontError(code: .unavailable, message: "the store is unavailable", cause: error)
    }
    if error is PostgresDecodingError {
      return StorefrontError(code: .internalError, message: "store failure", cause: error)
    }
    // Anything else is not postgres-nio's (what a caller's closure threw): as it is.
    guard let error = error as? PSQLError else { return error }
    guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
      return StorefrontError(code: .unavailable, message: "the store is unavailable", cause: error)
    }
    if state == "23505", error.serverInfo?[.constraintName] == "product_sku_key" {
      return StorefrontError(
        code: .alreadyExists,
        message: "a product with this sku already exists",
        cause: error
      )
    }
    switch state {
    case "53100":
      return StorefrontError(
        code: .resourceExhausted,
        message: "the database's disk is full",
        cause: error
      )
    case _
    where state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53")
      || state == "40001" || state == "40P01" || state == "25006":
      return StorefrontError(code: .unavailable, message: "the store is unavailable", cause: error)
    default:
      return StorefrontError(code: .internalError, message: "store failure", cause: error)
    }
  }

  /// Whether the database answers a query within two seconds. For health checks: while the
  /// database is down, a lease would wait for a connection far longer.
  public func isReachable() async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
      group.addTask { (try? await self.latestChangeSequence()) != nil }
      group.addTask {
        try? await Task.sleep(for: .seconds(2))
        return false
      }
      let answer = await group.next() ?? false
      group.cancelAll()
      return answer
    }
  }
}

/// Whether the database is taken as down, as the change follower last found it.
final class Reachability: Sendable {
  private let down = Atomic<Bool>(false)

  var isDown: Bool { self.down.load(ordering: .relaxed) }

  func set(isDown: Bool) {
    self.down.store(isDown, ordering: .relaxed)
  }
}

/// The connection of a write transaction, and the sequences its changes take.
final class ChangeWriter: @unchecked Sendable {
  let connection: PostgresConnection
  let logger: Logger
  /// The change log's newest sequence, counting this transaction's changes so far.
  private(set) var head: Int64

  init(connection: PostgresConnection, logger: Logger, head: Int64) {
    self.connection = connection
    self.logger = logger
    self.head = head
  }

  /// The sequence of the next change.
  func nextSequence() -> Int64 {
    self.head += 1
    return self.head
  }
}

extension PostgresConnection {
  /// Every row `query` returns, for random access by column name.
  func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
    try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
  }

  /// Runs `query` and discards what it returns.
  func run(_ query: PostgresQuery, logger: Logger) async throws {
    _ = try await self.query(query, logger: logger).collect()
  }
}
