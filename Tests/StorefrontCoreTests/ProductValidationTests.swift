import StorefrontCore
import Testing

/// A draft for the validation tables, and the fields validation must name (none when valid).
struct DraftCase: Sendable, CustomTestStringConvertible {
  var label: String
  var draft: ProductDraft
  var fields: [String]

  var testDescription: String { self.label }
}

@Suite("ProductDraft validation")
struct ProductValidationTests {
  static let valid = ProductDraft(
    sku: "MUG-01.blue_2",
    name: "Mug",
    description: "A mug\nwith a handle",
    category: "kitchen",
    priceCents: 1_299,
    currency: "USD",
    stock: 3
  )

  static func changed(
    _ label: String,
    fields: [String] = [],
    _ change: (inout ProductDraft) -> Void
  ) -> DraftCase {
    var draft = Self.valid
    change(&draft)
    return DraftCase(label: label, draft: draft, fields: fields)
  }

  static let badDrafts: [DraftCase] = [
    Self.changed("empty sku", fields: ["sku"]) { $0.sku = "" },
    Self.changed("65-character sku", fields: ["sku"]) {
      $0.sku = String(repeating: "s", count: 65)
    },
    Self.changed("sku with a space", fields: ["sku"]) { $0.sku = "MUG 01" },
    Self.changed("sku with a non-ASCII letter", fields: ["sku"]) { $0.sku = "MÜG-01" },
    Self.changed("sku with an emoji", fields: ["sku"]) { $0.sku = "MUG-☕" },
    Self.changed("sku with a slash", fields: ["sku"]) { $0.sku = "MUG/01" },
    Self.changed("empty name", fields: ["name"]) { $0.name = "" },
    Self.changed("201-character name", fields: ["name"]) {
      $0.name = String(repeating: "n", count: 201)
    },
    Self.changed("name with a control character", fields: ["name"]) { $0.name = "Mug\u{7}" },
    Self.changed("10,001-character description", fields: ["description"]) {
      $0.description = String(repeating: "d", count: 10_001)
    },
    Self.changed("101-character category", fields: ["category"]) {
      $0.category = String(repeating: "c", count: 101)
    },
    Self.changed("negative price", fields: ["price_cents"]) { $0.priceCents = -1 },
    Self.changed("lower-case currency", fields: ["currency"]) { $0.currency = "usd" },
    Self.changed("two-letter currency", fields: ["currency"]) { $0.currency = "US" },
    Self.changed("four-letter currency", fields: ["currency"]) { $0.currency = "USDX" },
    Self.changed("empty currency", fields: ["currency"]) { $0.currency = "" },
    Self.changed("negative stock", fields: ["stock"]) { $0.stock = -1 },
  ]

  static let validDrafts: [DraftCase] = [
    Self.changed("the sample draft") { _ in },
    Self.changed("64-character sku") { $0.sku = String(repeating: "s", count: 64) },
    Self.changed("200-character name") { $0.name = String(repeating: "n", count: 200) },
    Self.changed("200 emoji as a name, counted as characters") {
      $0.name = String(repeating: "👍🏽", count: 200)
    },
    Self.changed("name with a tab") { $0.name = "Mug\tTwo" },
    Self.changed("empty description and category") {
      $0.description = ""
      $0.category = ""
    },
    Self.changed("10,000-character description") {
      $0.description = String(repeating: "d", count: 10_000)
    },
    Self.changed("100-character category") { $0.category = String(repeating: "c", count: 100) },
    Self.changed("zero price and stock") {
      $0.priceCents = 0
      $0.stock = 0
    },
  ]

  @Test(
    "a bad draft is refused with invalidArgument naming exactly the bad field",
    arguments: badDrafts
  )
  func refusesBadDraft(_ bad: DraftCase) {
    let error = #expect(throws: StorefrontError.self) { try bad.draft.validate() }
    #expect(error?.code == .invalidArgument)
    #expect(error?.fieldViolations.map(\.field) == bad.fields)
  }

  @Test("a valid draft passes validation", arguments: validDrafts)
  func acceptsValidDraft(_ good: DraftCase) {
    #expect(throws: Never.self) { try good.draft.validate() }
  }

  @Test("every bad field is reported at once, in field order")
  func reportsEveryBadField() {
    let draft = ProductDraft(sku: "", name: "", priceCents: -5, currency: "usd", stock: -1)
    let error = #expect(throws: StorefrontError.self) { try draft.validate() }
    #expect(error?.code == .invalidArgument)
    #expect(
      error?.fieldViolations.map(\.field) == ["sku", "name", "price_cents", "currency", "stock"]
    )
    #expect(error?.message.contains("sku: must not be empty") == true)
    #expect(error?.message.contains("price_cents: must not be negative") == true)
  }

  @Test("validate(fields:) checks only the fields it is given")
  func validatesOnlyGivenFields() {
    let draft = ProductDraft(sku: "", name: "", priceCents: -5, currency: "usd", stock: -1)
    let error = #expect(throws: StorefrontError.self) {
      try draft.validate(fields: [.priceCents, .stock])
    }
    #expect(error?.fieldViolations.map(\.field) == ["price_cents", "stock"])
    #expect(throws: Never.self) { try draft.validate(fields: [.description, .category]) }
    #expect(throws: Never.self) { try draft.validate(fields: []) }
  }

  @Test("fields are named as in the API")
  func fieldNames() {
    #expect(
      ProductField.allCases.map(\.rawValue) == [
        "sku", "name", "description", "category", "price_cents", "currency", "stock",
      ]
    )
  }
}
