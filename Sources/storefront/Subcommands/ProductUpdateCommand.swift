import ArgumentParser
import GRPCCore
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront product update ID`: UpdateProduct of the fields given, and only those.
struct ProductUpdateCommand: AsyncParsableCommand, ClientCommand {
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

  /// Refuses an update that changes nothing.
  func validate() throws {
    var product = Storefront_V1_Product()
    guard !self.fields.apply(to: &product).isEmpty else {
      throw ValidationError("give at least one field to change, e.g. --price-cents 1299")
    }
  }

  /// Updates the product and prints it as it is now.
  func run() async throws {
    var product = Storefront_V1_Product.with {
      $0.id = self.id
      $0.etag = self.etag ?? ""
    }
    let paths = self.fields.apply(to: &product)
    let updated = try await self.options.withClient { [product] client in
      try await client.updateProduct(product, fields: paths)
    }
    try self.options.print(updated) { updated.summary }
  }
}
