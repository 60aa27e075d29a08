import ArgumentParser
import GRPCCore
import StorefrontAPI
import StorefrontClient
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
    let created = try await self.options.withClient { client in
      try await client.createProduct(product)
    }
    try self.options.print(created) { created.summary }
  }
}
