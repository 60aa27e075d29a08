import StorefrontCore
import StorefrontTestKit
import Testing

/// Bulk imports: per-product validation, batches, outcome counts and the failure list.
@Suite("ProductImport")
struct ProductImportTests {
  @Test("an import counts what it created, updated and left unchanged, in batches")
  func outcomes() async throws {
    try await UseCaseFixture.run { fixture in
      let existing = try await fixture.store.insert(.sample(sku: "KEEP", name: "Same"))
      _ = try await fixture.store.insert(.sample(sku: "CHANGE", name: "Old"))
      let session = ProductImport(products: fixture.store, batchSize: 2)
      for draft in [
        existing.draft, .sample(sku: "CHANGE", name: "New"), .sample(sku: "NEW-1"),
        .sample(sku: "NEW-2"), .sample(sku: "NEW-3"),
      ] {
        try await session.add(draft)
      }
      // Two batches of two are committed as they fill (two new products); the fifth waits.
      #expect(try await fixture.store.productCount() == 4)
      let summary = try await session.finish()
      #expect(summary.created == 3)
      #expect(summary.updated == 1)
      #expect(summary.unchanged == 1)
      #expect(summary.failed == 0)
      #expect(try await fixture.store.productCount() == 5)
    }
  }

  @Test(
    "an invalid product is listed with its position and field, stored in no part, and the rest go on"
  )
  func invalidProductsAreListed() async throws {
    try await UseCaseFixture.run { fixture in
      let session = ProductImport(products: fixture.store, batchSize: 10)
      try await session.add(.sample(sku: "GOOD-1"))
      try await session.add(.sample(sku: "BAD", priceCents: -1))
      try await session.add(.sample(sku: "", name: ""))
      try await session.add(.sample(sku: "GOOD-2"))
      let summary = try await session.finish()
      #expect(summary.created == 2)
      #expect(summary.failed == 2)
      #expect(summary.failures.map(\.position) == [1, 2])
      #expect(summary.failures.map(\.field) == ["price_cents", "sku"])
      #expect(summary.failures.first?.sku == "BAD")
      let stored = try await fixture.store.products(matching: ProductFilter(), limit: 10)
      #expect(Set(stored.map(\.draft.sku)) == ["GOOD-1", "GOOD-2"])
    }
  }

  @Test("the failure list stops at its limit while failed counts every failure")
  func failureListIsBounded() async throws {
    try await UseCaseFixture.run { fixture in
      let session = ProductImport(products: fixture.store, batchSize: 10)
      for _ in 0 ..< ProductImport.maxListedFailures + 5 {
        try await session.add(.sample(priceCents: -1))
      }
      let summary = try await session.finish()
      #expect(summary.failed == Int64(ProductImport.maxListedFailures + 5))
      #expect(summary.failures.count == ProductImport.maxListedFailures)
    }
  }
}
