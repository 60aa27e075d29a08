import ArgumentParser
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

/// The product fields a create or update command may set.
struct ProductFieldOptions: ParsableArguments {
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

  @Option(help: "ISO 4217 currency code.")
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

struct ProductCreate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create",
    abstract: "Creates a product."
  )

  @OptionGroup var fields: ProductFieldOptions
  @OptionGroup var options: ClientOptions

  func run() async throws {
    var product = Storefront_V1_Product.with { $0.currency = "USD" }
    _ = self.fields.apply(to: &product)
    let request = Storefront_V1_CreateProductRequest.with { $0.product = product }
    let response = try await self.options.withClient { client in
      try await client.createProduct(request, options: self.options.unaryOptions)
    }
    try self.options.print(response.product) { response.product.summary }
  }
}

struct ProductUpdate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "update",
    abstract: "Changes the given fields of a product."
  )

  @Argument(help: "The product's id.")
  var id: String

  @Option(help: "Fail with ABORTED unless this is the product's current etag.")
  var etag: String?

  @OptionGroup var fields: ProductFieldOptions
  @OptionGroup var options: ClientOptions

  func run() async throws {
    var product = Storefront_V1_Product.with {
      $0.id = self.id
      $0.etag = self.etag ?? ""
    }
    let paths = self.fields.apply(to: &product)
    guard !paths.isEmpty else {
      throw ValidationError("give at least one field to change, e.g. --price-cents 1299")
    }
    let request = Storefront_V1_UpdateProductRequest.with {
      $0.product = product
      $0.updateMask.paths = paths
    }
    let response = try await self.options.withClient { client in
      try await client.updateProduct(request, options: self.options.unaryOptions)
    }
    try self.options.print(response.product) { response.product.summary }
  }
}

struct ProductDelete: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete",
    abstract: "Deletes a product."
  )

  @Argument(help: "The product's id.")
  var id: String

  @Option(help: "Fail with ABORTED unless this is the product's current etag.")
  var etag: String?

  @OptionGroup var options: ClientOptions

  func run() async throws {
    let request = Storefront_V1_DeleteProductRequest.with {
      $0.id = self.id
      $0.etag = self.etag ?? ""
    }
    let response = try await self.options.withClient { client in
      try await client.deleteProduct(request, options: self.options.unaryOptions)
    }
    try self.options.print(response) { "deleted \(self.id)" }
  }
}
