import ArgumentParser
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

/// `storefront product create`: CreateProduct.
struct ProductCreateCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "create",
    abstract: "Creates a product."
  )

  @OptionGroup var fields: ProductFieldOptions
  @OptionGroup var options: ClientOptions

  /// Creates the product and prints it.
  func run() async throws {
    var product = Storefront_V1_Product.with { $0.currency = ProductFieldOptions.defaultCurrency }
    _ = self.fields.apply(to: &product)
    let request = Storefront_V1_CreateProductRequest.with { $0.product = product }
    let response = try await self.options.withClient { client in
      try await client.createProduct(request, options: self.options.unaryOptions)
    }
    try self.options.print(response.product) { response.product.summary }
  }
}
