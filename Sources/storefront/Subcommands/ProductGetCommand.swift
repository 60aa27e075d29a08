import ArgumentParser
import GRPCCore
import StorefrontAPI
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
    let response = try await self.options.withClient { client in
      try await client.getProduct(.with { $0.id = self.id }, options: self.options.unaryOptions)
    }
    try self.options.print(response.product) { response.product.summary }
  }
}
