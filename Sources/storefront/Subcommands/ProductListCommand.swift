import ArgumentParser
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

/// `storefront product list`: ListProducts, printed as the stream arrives.
struct ProductListCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Streams the products matching the filters, ordered by id."
  )

  @Option(help: "Only this category.")
  var category: String?

  @Option(help: "Only products whose name or description contains this (any case).")
  var query: String?

  @Option(help: "Lowest price, in cents.")
  var minPrice: Int64?

  @Option(help: "Highest price, in cents.")
  var maxPrice: Int64?

  @Option(help: "At most this many products (0: all).")
  var limit: Int32 = 0

  @Option(help: "Resume after this product id.")
  var after: String?

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    let request = Storefront_V1_ProductRequest.with {
      $0.category = self.category ?? ""
      $0.query = self.query ?? ""
      if let minPrice = self.minPrice { $0.minPriceCents = minPrice }
      if let maxPrice = self.maxPrice { $0.maxPriceCents = maxPrice }
      $0.pageSize = self.limit
      $0.afterID = self.after ?? ""
    }
    let count = try await self.options.withClient { client in
      try await client.listProducts(request) { response in
        var count = 0
        for try await message in response.messages {
          count += 1
          try self.options.print(message.product) { message.product.summary }
        }
        return count
      }
    }
    if !self.options.json {
      print("\(count) product\(count == 1 ? "" : "s")")
    }
  }
}
