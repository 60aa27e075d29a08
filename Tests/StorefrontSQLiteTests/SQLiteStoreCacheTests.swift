import Foundation
import GRDB
import StorefrontCore
import StorefrontTestKit
import Testing

@testable import StorefrontSQLite

/// The product cache of a ``CachedCatalogue`` over the SQLite store: a hot product is served
/// without reading the database.
/// The tests change a row behind the store's back (no store writes the file but the store
/// itself, so this never happens in service) to see where a read was answered from.
@Suite("CachedCatalogue over SQLiteStore")
struct SQLiteStoreCacheTests {
  /// Renames the product in the database without going through the store's writes.
  private func renameBehindTheStore(_ store: SQLiteStore, id: String) async throws {
    try await store.pool.write { db in
      try db.execute(sql: "UPDATE product SET name = 'Behind' WHERE id = ?", arguments: [id])
    }
  }

  @Test("a product read once is served from memory")
  func servesHotProductFromMemory() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(path: directory.url.appendingPathComponent("s.sqlite").path)
    defer { try? store.close() }
    let catalogue = CachedCatalogue(store, feed: store.feed)
    let product = try await store.insert(.sample(name: "Cached"))
    #expect(try await catalogue.product(id: product.id).draft.name == "Cached")
    try await self.renameBehindTheStore(store, id: product.id)
    #expect(try await catalogue.product(id: product.id).draft.name == "Cached")
    #expect(store.feed.cache.count == 1)
  }

  @Test("with a capacity of 0 every read goes to the database")
  func capacityZeroReadsTheDatabase() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(
      path: directory.url.appendingPathComponent("s.sqlite").path,
      configuration: SQLiteStore.Configuration(
        feed: ChangeFeed.Configuration(productCacheCapacity: 0)
      )
    )
    defer { try? store.close() }
    let catalogue = CachedCatalogue(store, feed: store.feed)
    let product = try await store.insert(.sample(name: "Uncached"))
    #expect(try await catalogue.product(id: product.id).draft.name == "Uncached")
    try await self.renameBehindTheStore(store, id: product.id)
    #expect(try await catalogue.product(id: product.id).draft.name == "Behind")
    #expect(store.feed.cache.count == 0)
  }

  @Test("a write of one product leaves other cached products in memory")
  func writeInvalidatesOnlyItsProducts() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(path: directory.url.appendingPathComponent("s.sqlite").path)
    defer { try? store.close() }
    let catalogue = CachedCatalogue(store, feed: store.feed)
    let kept = try await store.insert(.sample(name: "Kept"))
    let written = try await store.insert(.sample(name: "Written"))
    _ = try await catalogue.product(id: kept.id)
    _ = try await catalogue.product(id: written.id)
    #expect(store.feed.cache.count == 2)
    _ = try await store.update(
      ProductUpdate(id: written.id, fields: [.stock], values: .sample(stock: 3))
    )
    #expect(store.feed.cache.count == 1)
    #expect(store.feed.cache.product(id: kept.id) == kept)
    #expect(store.feed.cache.product(id: written.id) == nil)
  }
}
