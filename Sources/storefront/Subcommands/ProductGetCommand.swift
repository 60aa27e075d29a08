import ArgumentParser
import GRPCCore
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront product get ID`: GetProduct.
struct ProductGetCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "get",
    abstract: "Shows one product."
  )

  @Argument(help: "The product's id.")
  var id: String

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    let product = try await self.options.withClient { client in
      try await client.product(id: self.id)
    }
    try self.options.print(product) { product.summary }
  }
}
