import ArgumentParser
import StorefrontAPI

/// The product fields a create or update command may set.
struct ProductFieldOptions: ParsableArguments {
  /// The currency of a product that names none, for `product create` and `product import`.
  static let defaultCurrency = "USD"

  @Option(help: "Stock-keeping unit: 1-64 of A-Z a-z 0-9 . _ -")
  var sku: String?

  @Option(help: "Display name.")
  var name: String?

  @Option(help: "Description.")
  var description: String?

  @Option(help: "Category.")
  var category: String?

  @Option(help: "Price in cents (minor units).")
  var priceCents: Int64?

  @Option(help: "ISO 4217 currency code (create: \(Self.defaultCurrency) when absent).")
  var currency: String?

  @Option(help: "Units in stock.")
  var stock: Int32?

  /// Writes the given fields into `product` and returns their API paths.
  func apply(to product: inout Storefront_V1_Product) -> [String] {
    var paths: [String] = []
    func set<Value>(
      _ value: Value?,
      _ path: String,
      _ write: (inout Storefront_V1_Product, Value) -> Void
    ) {
      guard let value else { return }
      write(&product, value)
      paths.append(path)
    }
    set(self.sku, "sku") { $0.sku = $1 }
    set(self.name, "name") { $0.name = $1 }
    set(self.description, "description") { $0.description_p = $1 }
    set(self.category, "category") { $0.category = $1 }
    set(self.priceCents, "price_cents") { $0.priceCents = $1 }
    set(self.currency, "currency") { $0.currency = $1 }
    set(self.stock, "stock") { $0.stock = $1 }
    return paths
  }
}
