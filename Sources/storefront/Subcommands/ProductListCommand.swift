import ArgumentParser
import StorefrontAPI
import StorefrontClient
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

  /// Refuses a negative limit before anything is sent.
  func validate() throws {
    guard self.limit >= 0 else {
      throw ValidationError("--limit must not be negative")
    }
  }

  /// Runs the call and prints what it answers.
  func run() async throws {
    let query = ProductQuery(
      category: self.category ?? "",
      text: self.query ?? "",
      minPriceCents: self.minPrice,
      maxPriceCents: self.maxPrice,
      limit: self.limit == 0 ? nil : Int(self.limit),
      afterID: self.after ?? ""
    )
    let count = try await self.options.withClient { client in
      var count = 0
      for try await product in client.products(query) {
        count += 1
        try self.options.print(product) { product.summary }
      }
      return count
    }
    if !self.options.json {
      print("\(count) product\(count == 1 ? "" : "s")")
    }
  }
}
