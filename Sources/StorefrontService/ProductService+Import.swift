public import GRPCCore
public import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// Upserts products by sku in batches; a product that fails validation is listed in the
  /// summary and the import goes on. Errors: UNAVAILABLE or RESOURCE_EXHAUSTED (store),
  /// CANCELLED.
  public func importProducts(
    request: RPCAsyncSequence<Storefront_V1_ImportProductsRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_ImportProductsResponse {
    let summary = try await context.cancellingWithRPC(unlessDraining: self.drain) {
      let session = ProductImport(
        products: self.products,
        batchSize: self.configuration.importBatchSize
      )
      for try await message in request {
        try await session.add(message.product.draft)
      }
      return try await session.finish()
    }
    return Storefront_V1_ImportProductsResponse(summary)
  }
}

extension Storefront_V1_ImportProductsResponse {
  /// The wire form of an import's summary; failed fields are named as in the request.
  init(_ summary: ImportSummary) {
    self.init()
    self.created = summary.created
    self.updated = summary.updated
    self.unchanged = summary.unchanged
    self.failed = summary.failed
    self.failures = summary.failures.map { failure in
      .with {
        $0.position = failure.position
        $0.sku = failure.sku
        $0.field = failure.field.isEmpty ? "" : "product.\(failure.field)"
        $0.reason = failure.reason
      }
    }
  }
}
