import Foundation
import StorefrontCore
import Testing

/// What every store promises, run against each implementation in ``StoreFactory/all``.
/// Listing, images and chat are in the `ProductStoreContractTests+*.swift` files.
@Suite("Store contract")
struct ProductStoreContractTests {
  @Test(
    "insert assigns id, etag and times; get returns the same product",
    arguments: StoreFactory.all
  )
  func insertThenGet(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let draft = ProductDraft.sample(name: "Kettle", description: "Boils water")
      let created = try await store.insert(draft)
      #expect(created.id.hasPrefix("p_"))
      #expect(!created.etag.isEmpty)
      #expect(created.draft == draft)
      #expect(created.imageIDs.isEmpty)
      #expect(created.createTime == created.updateTime)
      #expect(abs(created.createTime.timeIntervalSinceNow) < 60)
      #expect(try await store.product(id: created.id) == created)
      #expect(try await store.productCount() == 1)
    }
  }

  @Test(
    "insert refuses a bad draft with invalidArgument and stores nothing",
    arguments: StoreFactory.all
  )
  func insertRefusesBadDraft(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.insert(.sample(priceCents: -1))
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.fieldViolations.map(\.field) == ["price_cents"])
      let count = try await store.productCount()
      #expect(count == 0)
    }
  }

  @Test("get answers notFound for an unknown id", arguments: StoreFactory.all)
  func getUnknown(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.product(id: "p_unknown")
      }
      #expect(error?.code == .notFound)
    }
  }

  @Test("insert answers alreadyExists for a taken sku", arguments: StoreFactory.all)
  func duplicateSKU(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let first = try await store.insert(.sample(sku: "DUP-1", name: "First"))
      let error = await #expect(throws: StorefrontError.self) {
        try await store.insert(.sample(sku: "DUP-1", name: "Second"))
      }
      #expect(error?.code == .alreadyExists)
      #expect(try await store.productCount() == 1)
      #expect(try await store.product(id: first.id) == first)
    }
  }

  @Test(
    "update changes only the masked fields, the etag and the update time",
    arguments: StoreFactory.all
  )
  func updateMaskedFields(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample(name: "Before", priceCents: 100))
      let values = ProductDraft.sample(sku: "IGNORED-1", name: "Ignored", priceCents: 250)
      let updated = try await store.update(
        ProductUpdate(
          id: created.id,
          fields: [.priceCents],
          values: values,
          expectedETag: created.etag
        )
      )
      var expected = created.draft
      expected.priceCents = 250
      #expect(updated.draft == expected)
      #expect(updated.id == created.id)
      #expect(updated.etag != created.etag)
      #expect(updated.createTime == created.createTime)
      #expect(updated.updateTime >= created.updateTime)
      #expect(try await store.product(id: created.id) == updated)
    }
  }

  @Test("update without an etag applies unconditionally", arguments: StoreFactory.all)
  func updateWithoutETag(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample(name: "Before"))
      let updated = try await store.update(
        ProductUpdate(id: created.id, fields: [.name], values: .sample(name: "After"))
      )
      #expect(updated.draft.name == "After")
      #expect(try await store.product(id: created.id) == updated)
    }
  }

  @Test("update with a stale etag answers aborted and changes nothing", arguments: StoreFactory.all)
  func updateStaleETag(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample(name: "Original"))
      let first = try await store.update(
        ProductUpdate(
          id: created.id,
          fields: [.name],
          values: .sample(name: "First"),
          expectedETag: created.etag
        )
      )
      let error = await #expect(throws: StorefrontError.self) {
        try await store.update(
          ProductUpdate(
            id: created.id,
            fields: [.name],
            values: .sample(name: "Second"),
            expectedETag: created.etag
          )
        )
      }
      #expect(error?.code == .aborted)
      #expect(try await store.product(id: created.id) == first)
    }
  }

  @Test(
    "update to a sku another product has answers alreadyExists and changes nothing",
    arguments: StoreFactory.all
  )
  func updateToTakenSKU(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      _ = try await store.insert(.sample(sku: "TAKEN-1"))
      let other = try await store.insert(.sample(sku: "OTHER-1"))
      let error = await #expect(throws: StorefrontError.self) {
        try await store.update(
          ProductUpdate(id: other.id, fields: [.sku], values: .sample(sku: "TAKEN-1"))
        )
      }
      #expect(error?.code == .alreadyExists)
      #expect(try await store.product(id: other.id) == other)
    }
  }

  @Test("update may keep a product's own sku", arguments: StoreFactory.all)
  func updateToOwnSKU(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample(sku: "MINE-1", name: "Before"))
      let updated = try await store.update(
        ProductUpdate(
          id: created.id,
          fields: [.sku, .name],
          values: .sample(sku: "MINE-1", name: "After")
        )
      )
      #expect(updated.draft.sku == "MINE-1")
      #expect(updated.draft.name == "After")
    }
  }

  @Test(
    "update answers invalidArgument for a bad masked value and changes nothing",
    arguments: StoreFactory.all
  )
  func updateBadValue(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample())
      let error = await #expect(throws: StorefrontError.self) {
        try await store.update(
          ProductUpdate(id: created.id, fields: [.stock], values: .sample(stock: -1))
        )
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.fieldViolations.map(\.field) == ["stock"])
      #expect(try await store.product(id: created.id) == created)
    }
  }

  @Test("update answers notFound for an unknown id", arguments: StoreFactory.all)
  func updateUnknown(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.update(
          ProductUpdate(id: "p_unknown", fields: [.name], values: .sample())
        )
      }
      #expect(error?.code == .notFound)
    }
  }

  @Test(
    "delete with a stale etag answers aborted and keeps the product",
    arguments: StoreFactory.all
  )
  func deleteStaleETag(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let created = try await store.insert(.sample(name: "Before"))
      let updated = try await store.update(
        ProductUpdate(id: created.id, fields: [.name], values: .sample(name: "After"))
      )
      let error = await #expect(throws: StorefrontError.self) {
        try await store.delete(id: created.id, expectedETag: created.etag)
      }
      #expect(error?.code == .aborted)
      #expect(try await store.product(id: created.id) == updated)
      #expect(try await store.productCount() == 1)
    }
  }

  @Test(
    "delete with the current etag, or none, removes the product: get answers notFound",
    arguments: StoreFactory.all
  )
  func deleteThenGet(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let first = try await store.insert(.sample())
      let second = try await store.insert(.sample())
      _ = try await store.delete(id: first.id, expectedETag: first.etag)
      _ = try await store.delete(id: second.id, expectedETag: nil)
      for id in [first.id, second.id] {
        let error = await #expect(throws: StorefrontError.self) {
          try await store.product(id: id)
        }
        #expect(error?.code == .notFound)
      }
      #expect(try await store.productCount() == 0)
      let again = await #expect(throws: StorefrontError.self) {
        try await store.delete(id: first.id, expectedETag: nil)
      }
      #expect(again?.code == .notFound)
    }
  }

  @Test("a deleted product's sku may be used again", arguments: StoreFactory.all)
  func deleteFreesSKU(_ factory: StoreFactory) async throws {
    try await factory.withStore { store in
      let first = try await store.insert(.sample(sku: "REUSED-1"))
      _ = try await store.delete(id: first.id, expectedETag: nil)
      let second = try await store.insert(.sample(sku: "REUSED-1"))
      #expect(second.id != first.id)
    }
  }
}
