/// A client-writable field of a product, named as in the API (`price_cents`).
public enum ProductField: String, CaseIterable, Hashable, Sendable {
  case sku
  case name
  case description
  case category
  case priceCents = "price_cents"
  case currency
  case stock

  /// Copies this field's value from `source` into `target`.
  func copy(from source: ProductDraft, into target: inout ProductDraft) {
    switch self {
    case .sku: target.sku = source.sku
    case .name: target.name = source.name
    case .description: target.description = source.description
    case .category: target.category = source.category
    case .priceCents: target.priceCents = source.priceCents
    case .currency: target.currency = source.currency
    case .stock: target.stock = source.stock
    }
  }
}
