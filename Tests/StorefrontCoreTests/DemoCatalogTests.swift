import StorefrontCore
import Testing

@Suite("DemoCatalog")
struct DemoCatalogTests {
  @Test("the same index always gives the same draft")
  func deterministic() {
    // Pinned values: a change to the generator shows up here, not in a benchmark's numbers.
    let first = ProductDraft(
      sku: "DEMO-BOO-1",
      name: "Compact Anthology #1",
      description: "Compact anthology in red, from our books range.",
      category: "books",
      priceCents: 2_299,
      currency: "USD",
      stock: 261
    )
    let third = ProductDraft(
      sku: "DEMO-KIT-3",
      name: "Sturdy Skillet #3",
      description: "Sturdy skillet in blue, from our kitchen range.",
      category: "kitchen",
      priceCents: 10_299,
      currency: "USD",
      stock: 45
    )
    #expect(DemoCatalog.product(at: 0) == first)
    #expect(DemoCatalog.product(at: 2) == third)
    for index in [0, 1, 7, 99, 12_345] {
      #expect(DemoCatalog.product(at: index) == DemoCatalog.product(at: index))
    }
    let byIndex = (0 ..< 50).map { DemoCatalog.product(at: $0) }
    #expect(Array(DemoCatalog.products(count: 50)) == byIndex)
  }

  @Test("every draft of the first thousand validates, with a sku of its own")
  func everyDraftValidates() {
    let drafts = Array(DemoCatalog.products(count: 1_000))
    #expect(drafts.count == 1_000)
    for draft in drafts {
      #expect(throws: Never.self) { try draft.validate() }
    }
    #expect(Set(drafts.map(\.sku)).count == 1_000)
  }

  @Test("the first hundred spread evenly over ten categories")
  func categories() {
    let drafts = Array(DemoCatalog.products(count: 100))
    let counts = Dictionary(grouping: drafts, by: \.category).mapValues(\.count)
    #expect(counts.count == 10)
    #expect(counts.values.allSatisfy { $0 == 10 })
  }

  @Test("products(count:) gives that many drafts, and none for a negative count")
  func counts() {
    #expect(Array(DemoCatalog.products(count: 3)).count == 3)
    #expect(Array(DemoCatalog.products(count: 0)).isEmpty)
    #expect(Array(DemoCatalog.products(count: -5)).isEmpty)
  }
}
