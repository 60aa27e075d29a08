import Foundation
import StorefrontCore
import Testing

@Suite("ProductUpdate")
struct ProductUpdateTests {
  static let current = Product(
    id: "p_1",
    draft: ProductDraft(
      sku: "OLD-1",
      name: "Old name",
      description: "Old description",
      category: "old",
      priceCents: 100,
      currency: "USD",
      stock: 1
    ),
    createTime: Date(timeIntervalSince1970: 1_700_000_000),
    updateTime: Date(timeIntervalSince1970: 1_700_000_000),
    etag: "etag-1"
  )

  static let newValues = ProductDraft(
    sku: "NEW-1",
    name: "New name",
    description: "New description",
    category: "new",
    priceCents: 250,
    currency: "EUR",
    stock: 9
  )

  /// A field's value, as text, so that a table can compare any field.
  static func value(of field: ProductField, in draft: ProductDraft) -> String {
    switch field {
    case .sku: draft.sku
    case .name: draft.name
    case .description: draft.description
    case .category: draft.category
    case .priceCents: String(draft.priceCents)
    case .currency: draft.currency
    case .stock: String(draft.stock)
    }
  }

  @Test("apply changes the masked field and keeps every other", arguments: ProductField.allCases)
  func appliesOneField(_ masked: ProductField) throws {
    let update = ProductUpdate(id: "p_1", fields: [masked], values: Self.newValues)
    let draft = try update.apply(to: Self.current)
    for field in ProductField.allCases {
      let source = field == masked ? Self.newValues : Self.current.draft
      #expect(
        Self.value(of: field, in: draft) == Self.value(of: field, in: source),
        "\(field.rawValue) with mask [\(masked.rawValue)]"
      )
    }
  }

  @Test("apply with several masked fields changes exactly those")
  func appliesSeveralFields() throws {
    let update = ProductUpdate(id: "p_1", fields: [.name, .priceCents], values: Self.newValues)
    var expected = Self.current.draft
    expected.name = "New name"
    expected.priceCents = 250
    #expect(try update.apply(to: Self.current) == expected)
  }

  @Test("apply with every field masked takes all the new values; an empty mask changes nothing")
  func appliesAllOrNone() throws {
    let all = ProductUpdate(
      id: "p_1",
      fields: Set(ProductField.allCases),
      values: Self.newValues
    )
    #expect(try all.apply(to: Self.current) == Self.newValues)
    let none = ProductUpdate(id: "p_1", fields: [], values: Self.newValues)
    #expect(try none.apply(to: Self.current) == Self.current.draft)
  }

  @Test("apply refuses a stale etag with aborted")
  func refusesStaleETag() {
    let update = ProductUpdate(
      id: "p_1",
      fields: [.name],
      values: Self.newValues,
      expectedETag: "etag-0"
    )
    let error = #expect(throws: StorefrontError.self) { try update.apply(to: Self.current) }
    #expect(error?.code == .aborted)
  }

  static let acceptedETags: [String?] = [nil, "etag-1"]

  @Test("apply accepts the current etag, and no etag at all", arguments: acceptedETags)
  func acceptsCurrentOrNoETag(_ etag: String?) throws {
    let update = ProductUpdate(
      id: "p_1",
      fields: [.name],
      values: Self.newValues,
      expectedETag: etag
    )
    #expect(try update.apply(to: Self.current).name == "New name")
  }

  @Test("apply refuses a bad value in a masked field, naming it")
  func refusesBadMaskedValue() {
    var values = Self.newValues
    values.priceCents = -1
    let update = ProductUpdate(id: "p_1", fields: [.priceCents], values: values)
    let error = #expect(throws: StorefrontError.self) { try update.apply(to: Self.current) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.fieldViolations.map(\.field) == ["price_cents"])
  }

  @Test("apply ignores bad values in fields that are not masked")
  func ignoresBadUnmaskedValue() throws {
    var values = Self.newValues
    values.sku = ""
    values.currency = "usd"
    let update = ProductUpdate(id: "p_1", fields: [.name], values: values)
    let draft = try update.apply(to: Self.current)
    #expect(draft.sku == "OLD-1")
    #expect(draft.currency == "USD")
    #expect(draft.name == "New name")
  }

  @Test("an update mask names fields by their API paths; an empty one names every field")
  func maskPaths() throws {
    let some = try ProductUpdate(id: "p_1", paths: ["price_cents", "name"], values: Self.newValues)
    #expect(some.fields == [.priceCents, .name])
    let all = try ProductUpdate(id: "p_1", paths: [], values: Self.newValues)
    #expect(all.fields == Set(ProductField.allCases))
  }

  @Test(
    "an update mask path that is not a writable field is refused, naming update_mask",
    arguments: ["id", "etag", "image_ids", "priceCents", ""]
  )
  func unknownMaskPath(_ path: String) {
    let error = #expect(throws: StorefrontError.self) {
      try ProductUpdate(id: "p_1", paths: ["name", path], values: Self.newValues)
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.fieldViolations.map(\.field) == ["update_mask"])
  }
}
