import Foundation
import StorefrontCore
import StorefrontSQLite
import Testing

/// Opens an empty store of one implementation in a directory the test owns. The contract
/// suite runs once per factory in ``all``: a new store implementation adds itself there.
struct StoreFactory: Sendable, CustomTestStringConvertible {
  /// A store and how to release it.
  /// Everything a store implements.
  typealias Store = ProductStore & ProductChangeStore & ImageStore & ChatStore & UserStore

  struct Opened: Sendable {
    var store: any Store
    var close: @Sendable () throws -> Void
  }

  let name: String
  let open: @Sendable (_ directory: URL, _ retention: ChangeRetention) async throws -> Opened

  var testDescription: String { self.name }

  /// Runs `body` with a fresh, empty store, closed and deleted afterwards.
  func withStore(
    retention: ChangeRetention = ChangeRetention(),
    _ body: (any Store) async throws -> Void
  ) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let opened = try await self.open(directory.url, retention)
    defer { try? opened.close() }
    try await body(opened.store)
  }

  static let sqlite = Self.sqlite(name: "SQLite")

  /// SQLite with a change tail of three changes, filled by every commit whether or not
  /// anyone reads the log yet, so that reads of the change log mix answers from memory and
  /// from the database.
  static let sqliteShortTail = Self.sqlite(
    name: "SQLite, change tail of 3",
    changeTail: 3,
    idleTime: nil
  )

  /// SQLite with a change tail filled by every commit: reads after the writes are answered
  /// from memory.
  static let sqliteFullTail = Self.sqlite(name: "SQLite, tail always filled", idleTime: nil)

  /// SQLite with no change tail: every read of the change log goes to the database.
  static let sqliteNoTail = Self.sqlite(name: "SQLite, no change tail", changeTail: 0)

  private static func sqlite(
    name: String,
    changeTail: Int = 4_096,
    idleTime: Duration? = .seconds(10)
  ) -> StoreFactory {
    StoreFactory(name: name) { directory, retention in
      let store = try SQLiteStore(
        path: directory.appendingPathComponent("storefront.sqlite").path,
        configuration: SQLiteStore.Configuration(
          changeRetention: retention,
          changeTailCapacity: changeTail,
          changeTailIdleTime: idleTime
        )
      )
      return Opened(store: store, close: { try store.close() })
    }
  }

  /// Every store implementation (and the store's ways of reading its change log).
  static let all: [StoreFactory] = [.sqlite, .sqliteFullTail, .sqliteShortTail, .sqliteNoTail]
}
