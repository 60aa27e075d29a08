import Foundation
import StorefrontCore
public import Testing

/// What every store promises. Each store's test target runs every case of ``cases`` against
/// its factories; the cases are grouped by subject in the `StoreContract+*.swift` files.
public enum StoreContract {
  /// One promise, checked on a fresh store that a factory opens.
  public struct Case: Sendable, CustomTestStringConvertible {
    /// What the store promises, as a sentence.
    public let testDescription: String
    let check: @Sendable (StoreFactory) async throws -> Void

    init(_ description: String, _ check: @escaping @Sendable (StoreFactory) async throws -> Void) {
      self.testDescription = description
      self.check = check
    }

    /// Checks the promise on stores that `factory` opens.
    public func run(on factory: StoreFactory) async throws {
      try await self.check(factory)
    }
  }

  static let insertThenGet = Case("insert assigns id, etag and times; get returns the same product")
  { factory in
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

  static let bulkInsert = Case("insert(contentsOf:) inserts every draft") { factory in
    try await factory.withStore { store in
      let drafts = Array(DemoCatalog.products(count: 25))
      #expect(try await store.insert(contentsOf: drafts) == 25)
      #expect(try await store.productCount() == 25)
      let listed = try await store.products(matching: ProductFilter(), limit: 100)
      #expect(Set(listed.map(\.draft)) == Set(drafts))
      #expect(Set(listed.map(\.id)).count == 25)
    }
  }

  static let bulkInsertIsAtomic = Case("insert(contentsOf:) inserts nothing when a sku is taken") {
    factory in
    // `throws`: every `try` of the body is inside a macro, which closure inference does not see.
    try await factory.withStore { store throws in
      let taken = await #expect(throws: StorefrontError.self) {
        try await store.insert(contentsOf: [.sample(sku: "SAME-1"), .sample(sku: "SAME-1")])
      }
      #expect(taken?.code == .alreadyExists)
      #expect(try await store.productCount() == 0)
      #expect(try await store.latestChangeSequence() == 0)
    }
  }

  static let productBySKU = Case(
    "product(sku:) finds the product with a sku; an unknown one is nil"
  ) {
    factory in
    try await factory.withStore { store in
      let created = try await store.insert(.sample(sku: "FIND-ME"))
      #expect(try await store.product(sku: "FIND-ME") == created)
      #expect(try await store.product(sku: "find-me") == nil)
      #expect(try await store.product(sku: "FIND-ME\u{0}X") == nil)
    }
  }

  static let getUnknown = Case("get answers notFound for an unknown id") { factory in
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.product(id: "p_unknown")
      }
      #expect(error?.code == .notFound)
    }
  }

  static let duplicateSKU = Case("insert answers alreadyExists for a taken sku") { factory in
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

  static let updateMaskedFields = Case(
    "update changes only the masked fields, the etag and the update time"
  ) { factory in
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

  static let updateWithoutETag = Case("update without an etag applies unconditionally") { factory in
    try await factory.withStore { store in
      let created = try await store.insert(.sample(name: "Before"))
      let updated = try await store.update(
        ProductUpdate(id: created.id, fields: [.name], values: .sample(name: "After"))
      )
      #expect(updated.draft.name == "After")
      #expect(try await store.product(id: created.id) == updated)
    }
  }

  static let updateStaleETag = Case("update with a stale etag answers aborted and changes nothing")
  { factory in
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

  static let updateToTakenSKU = Case(
    "update to a sku another product has answers alreadyExists and changes nothing"
  ) { factory in
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

  static let updateToOwnSKU = Case("update may keep a product's own sku") { factory in
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

  static let updateBadValue = Case(
    "update answers invalidArgument for a bad masked value and changes nothing"
  ) { factory in
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

  static let updateUnknown = Case("update answers notFound for an unknown id") { factory in
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.update(
          ProductUpdate(id: "p_unknown", fields: [.name], values: .sample())
        )
      }
      #expect(error?.code == .notFound)
    }
  }

  static let deleteStaleETag = Case(
    "delete with a stale etag answers aborted and keeps the product"
  ) { factory in
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

  static let deleteThenGet = Case(
    "delete with the current etag, or none, removes the product: get answers notFound"
  ) { factory in
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

  static let deleteFreesSKU = Case("a deleted product's sku may be used again") { factory in
    try await factory.withStore { store in
      let first = try await store.insert(.sample(sku: "REUSED-1"))
      _ = try await store.delete(id: first.id, expectedETag: nil)
      let second = try await store.insert(.sample(sku: "REUSED-1"))
      #expect(second.id != first.id)
    }
  }

  /// Every case, in the order of their files.
  public static var cases: [Case] {
    [
      writesAreLogged,
      failedWritesAreNotLogged,
      changesResume,
      changeFilters,
      outOfRangeSequences,
      pruneInsideOneWrite,
      categoryFilterBytes,
      pruneByAge,
      waitForChange,
      waitForChangeCancelled,
      upsertOutcomes,
      upsertDistinctSkus,
      nulMatchesNothing,
      lastSequencePerRoom,
      recentMessagesWindow,
      messagesAfterWindow,
      chatKindsRoundTrip,
      racingAppends,
      deleteRemovesChat,
      freshAfterUpdate,
      freshAfterDelete,
      freshAfterAttach,
      freshAfterUpsert,
      freshAfterCreate,
      unchangedAfterFailedWrite,
      freshUnderConcurrentReads,
      attachAppends,
      attachKeepsBatchOrder,
      attachToMissingProduct,
      attachAllOrNothing,
      imageUnknown,
      deleteReturnsOrphanedHashes,
      deleteWithoutImages,
      listsInIDOrder,
      pagesWithoutGapOrOverlap,
      pagesWithinFilter,
      categoryFilter,
      combinedFilters,
      users,
      enabling,
      insertThenGet,
      bulkInsert,
      bulkInsertIsAtomic,
      productBySKU,
      getUnknown,
      duplicateSKU,
      updateMaskedFields,
      updateWithoutETag,
      updateStaleETag,
      updateToTakenSKU,
      updateToOwnSKU,
      updateBadValue,
      updateUnknown,
      deleteStaleETag,
      deleteThenGet,
      deleteFreesSKU,
    ] + Self.priceFilter + Self.queryFilter
  }
}
