import GRPCCore
public import StorefrontAPI
import SwiftProtobuf

/// Where an import's products go, one at a time, as they are read.
public struct ProductImportWriter: Sendable {
  let writer: RPCWriter<Storefront_V1_ImportProductsRequest>

  /// Sends one product; waits while the server is behind.
  public func write(_ product: Storefront_V1_Product) async throws {
    try await self.writer.write(.with { $0.product = product })
  }
}

extension StorefrontClient {
  /// Creates or updates products by sku in one stream: each product is checked as
  /// ``createProduct(_:)`` checks it, the bad ones are listed in the answer by position, the
  /// rest land, committed in batches. An import cut short keeps its committed batches, and
  /// running it again is safe.
  /// - Parameter produce: writes the products, reading them as the stream goes.
  public func importProducts(
    _ produce: @escaping @Sendable (ProductImportWriter) async throws -> Void
  ) async throws -> Storefront_V1_ImportProductsResponse {
    try await self.call {
      try await self.products.importProducts { writer in
        try await produce(ProductImportWriter(writer: writer))
      } onResponse: { response in
        try response.message
      }
    }
  }

  /// Imports the products of a sequence, as ``importProducts(_:)-(ProductImportWriter)``.
  public func importProducts<Products: Sequence & Sendable>(
    _ products: Products
  ) async throws -> Storefront_V1_ImportProductsResponse
  where Products.Element == Storefront_V1_Product {
    try await self.importProducts { writer in
      for product in products {
        try await writer.write(product)
      }
    }
  }
}
