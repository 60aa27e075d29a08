import Foundation
import StorefrontCore
import StorefrontSQLite

extension StoreFactory {
  /// The SQLite store as the server runs it: reads through its feed's cache and tail.
  public static let sqlite = Self.sqlite(name: "SQLite")

  /// SQLite with a change tail of three changes, filled by every commit whether or not
  /// anyone reads the log yet, so that reads of the change log mix answers from memory and
  /// from the database.
  public static let sqliteShortTail = Self.sqlite(
    name: "SQLite, change tail of 3",
    feed: ChangeFeed.Configuration(changeTailCapacity: 3, changeTailIdleTime: nil)
  )

  /// SQLite with a change tail filled by every commit: reads after the writes are answered
  /// from memory.
  public static let sqliteFullTail = Self.sqlite(
    name: "SQLite, tail always filled",
    feed: ChangeFeed.Configuration(changeTailIdleTime: nil)
  )

  /// SQLite with no change tail: every read of the change log goes to the database.
  public static let sqliteNoTail = Self.sqlite(
    name: "SQLite, no change tail",
    feed: ChangeFeed.Configuration(changeTailCapacity: 0)
  )

  /// SQLite with no change tail and no product cache: every read goes to the database.
  public static let sqliteNoMemory = Self.sqlite(
    name: "SQLite, no cache or tail",
    feed: ChangeFeed.Configuration(productCacheCapacity: 0, changeTailCapacity: 0)
  )

  /// The SQLite store and the ways it can read: the factories its contract runs on.
  public static let sqliteVariants: [StoreFactory] = [
    .sqlite, .sqliteFullTail, .sqliteShortTail, .sqliteNoTail, .sqliteNoMemory,
  ]

  private static func sqlite(
    name: String,
    feed: ChangeFeed.Configuration = ChangeFeed.Configuration()
  ) -> StoreFactory {
    StoreFactory(name: name) { directory, retention in
      let store = try SQLiteStore(
        path: directory.appendingPathComponent(SQLiteStore.fileName).path,
        configuration: SQLiteStore.Configuration(changeRetention: retention, feed: feed)
      )
      return Opened(
        store: CachedCatalogue(store, feed: store.feed),
        close: { try store.close() }
      )
    }
  }
}
