import Foundation
import StorefrontCore
import Synchronization
import Testing

/// A store may keep hot products in memory (the SQLite store does), but a read that begins
/// after a write has returned always sees that write. Each test reads the product twice
/// first, so that a caching store serves it from memory, then writes one way and reads again.
extension StoreContract {
  /// Inserts a product and reads it twice, warming any cache.
  private static func warmProduct(_ store: any StorefrontStore) async throws -> Product {
    let product = try await store.insert(.sample(name: "Hot", priceCents: 1_000))
    _ = try await store.product(id: product.id)
    #expect(try await store.product(id: product.id) == product)
    return product
  }

  static let freshAfterUpdate = Case("a read after an update sees the update") { factory in
    try await factory.withStore { store in
      let product = try await Self.warmProduct(store)
      let updated = try await store.update(
        ProductUpdate(id: product.id, fields: [.priceCents], values: .sample(priceCents: 2_500))
      )
      let read = try await store.product(id: product.id)
      #expect(read == updated)
      #expect(read.draft.priceCents == 2_500)
      #expect(read.etag != product.etag)
    }
  }

  static let freshAfterDelete = Case("a read after a delete answers notFound") { factory in
    try await factory.withStore { store in
      let product = try await Self.warmProduct(store)
      _ = try await store.delete(id: product.id, expectedETag: product.etag)
      let error = await #expect(throws: StorefrontError.self) {
        try await store.product(id: product.id)
      }
      #expect(error?.code == .notFound)
    }
  }

  static let freshAfterAttach = Case("a read after an image attach sees the image and the new etag")
  { factory in
    try await factory.withStore { store in
      let product = try await Self.warmProduct(store)
      try await store.attach([
        .sample(id: "img_fresh", productID: product.id, sha256: fakeSHA256("f"))
      ])
      let read = try await store.product(id: product.id)
      #expect(read.imageIDs == ["img_fresh"])
      #expect(read.etag != product.etag)
    }
  }

  static let freshAfterUpsert = Case("a read after an import upsert sees the imported fields") {
    factory in
    try await factory.withStore { store in
      let product = try await Self.warmProduct(store)
      var draft = product.draft
      draft.name = "Imported"
      draft.stock = 77
      let outcomes = try await store.upsert([draft, .sample(sku: "NEW-FROM-IMPORT")])
      #expect(outcomes == [.updated, .created])
      let read = try await store.product(id: product.id)
      #expect(read.draft == draft)
      #expect(read.etag != product.etag)
    }
  }

  static let freshAfterCreate = Case("a read after a create sees the product whole") { factory in
    try await factory.withStore { store in
      _ = try await Self.warmProduct(store)
      let created = try await store.insert(.sample(name: "Second"))
      #expect(try await store.product(id: created.id) == created)
    }
  }

  static let unchangedAfterFailedWrite = Case(
    "a write that fails leaves reads answering what the store holds"
  ) { factory in
    try await factory.withStore { store in
      let product = try await Self.warmProduct(store)
      let updated = try await store.update(
        ProductUpdate(id: product.id, fields: [.stock], values: .sample(stock: 5))
      )
      // A stale etag: ABORTED, nothing written.
      await #expect(throws: StorefrontError.self) {
        try await store.update(
          ProductUpdate(
            id: product.id,
            fields: [.stock],
            values: .sample(stock: 9),
            expectedETag: product.etag
          )
        )
      }
      #expect(try await store.product(id: product.id) == updated)
    }
  }

  static let freshUnderConcurrentReads = Case(
    "reads racing with writes never see a write undone once it has returned"
  ) { factory in
    try await factory.withStore { store in
      let product = try await Self.warmProduct(store)
      let done = Flag()
      try await withThrowingTaskGroup(of: Void.self) { group in
        // Readers keep the product hot and keep filling the cache meanwhile. A read served
        // from memory never suspends, so each yields to let the writer run.
        for _ in 0 ..< 4 {
          group.addTask {
            while !done.isSet {
              _ = try await store.product(id: product.id)
              await Task.yield()
            }
          }
        }
        for stock in Int32(1) ... 50 {
          let updated = try await store.update(
            ProductUpdate(id: product.id, fields: [.stock], values: .sample(stock: stock))
          )
          let read = try await store.product(id: product.id)
          #expect(read == updated, "update \(stock) was not seen")
        }
        done.set()
        try await group.waitForAll()
      }
    }
  }
}

/// A flag one task sets and others read.
final class Flag: Sendable {
  private let value = Mutex(false)

  var isSet: Bool { self.value.withLock { $0 } }

  func set() {
    self.value.withLock { $0 = true }
  }
}
