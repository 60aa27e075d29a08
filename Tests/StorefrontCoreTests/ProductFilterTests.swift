import StorefrontCore
import Testing

/// A filter for the validation tables, and the fields validation must name (none when valid).
struct FilterCase: Sendable, CustomTestStringConvertible {
  var label: String
  var filter: ProductFilter
  var fields: [String] = []

  var testDescription: String { self.label }
}

@Suite("ProductFilter validation")
struct ProductFilterTests {
  static let badFilters: [FilterCase] = [
    FilterCase(
      label: "negative minimum price",
      filter: ProductFilter(minPriceCents: -1),
      fields: ["min_price_cents"]
    ),
    FilterCase(
      label: "negative maximum price",
      filter: ProductFilter(maxPriceCents: -1),
      fields: ["max_price_cents"]
    ),
    FilterCase(
      label: "minimum above maximum",
      filter: ProductFilter(minPriceCents: 500, maxPriceCents: 100),
      fields: ["max_price_cents"]
    ),
    FilterCase(
      label: "201-character query",
      filter: ProductFilter(query: String(repeating: "q", count: 201)),
      fields: ["query"]
    ),
  ]

  static let goodFilters: [FilterCase] = [
    FilterCase(label: "no conditions", filter: ProductFilter()),
    FilterCase(label: "zero bounds", filter: ProductFilter(minPriceCents: 0, maxPriceCents: 0)),
    FilterCase(
      label: "minimum equal to maximum",
      filter: ProductFilter(minPriceCents: 300, maxPriceCents: 300)
    ),
    FilterCase(
      label: "minimum below maximum",
      filter: ProductFilter(minPriceCents: 100, maxPriceCents: 500)
    ),
    FilterCase(
      label: "200-character query",
      filter: ProductFilter(query: String(repeating: "q", count: 200))
    ),
    FilterCase(
      label: "category, query and afterID",
      filter: ProductFilter(category: "books", query: "atlas", afterID: "p_0")
    ),
  ]

  @Test("a bad filter is refused with invalidArgument naming the field", arguments: badFilters)
  func refusesBadFilter(_ bad: FilterCase) {
    let error = #expect(throws: StorefrontError.self) { try bad.filter.validate() }
    #expect(error?.code == .invalidArgument)
    #expect(error?.fieldViolations.map(\.field) == bad.fields)
  }

  @Test("a good filter passes validation", arguments: goodFilters)
  func acceptsGoodFilter(_ good: FilterCase) {
    #expect(throws: Never.self) { try good.filter.validate() }
  }
}
