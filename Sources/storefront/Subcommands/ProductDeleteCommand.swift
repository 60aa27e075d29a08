import ArgumentParser
import GRPCCore
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront product delete ID`: DeleteProduct.
struct ProductDeleteCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete",
    abstract: "Deletes a product."
  )

  @Argument(help: "The product's id.")
  var id: String

  @Option(help: "Fail with ABORTED unless this is the product's current etag.")
  var etag: String?

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    try await self.options.withClient { client in
      try await client.deleteProduct(id: self.id, etag: self.etag ?? "")
    }
    try self.options.print(Storefront_V1_DeleteProductResponse()) { "deleted \(self.id)" }
  }
}
