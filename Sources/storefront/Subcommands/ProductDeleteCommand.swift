import ArgumentParser
import GRPCCore
import StorefrontAPI
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
