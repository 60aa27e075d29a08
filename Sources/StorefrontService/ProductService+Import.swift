import GRPCCore
import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// The most failures an import summary lists; `failed` counts them all.
  static let maxListedImportFailures = 1_000

  /// ImportProducts: validates each product as CreateProduct does, and upserts the valid ones
  /// by sku in batches, one transaction each. A product that fails validation is listed in
  /// the summary and the import goes on. A cancelled import keeps the batches committed
  /// before; since it upserts, running it again is safe.
  /// Errors: UNAVAILABLE or RESOURCE_EXHAUSTED (store), CANCELLED.
  func importProducts(
    _ request: RPCAsyncSequence<Storefront_V1_ImportProductsRequest, any Error>
  ) async throws -> Storefront_V1_ImportProductsResponse {
    var summary = Storefront_V1_ImportProductsResponse()
    var batch: [ProductDraft] = []
    var position: Int64 = 0
    for try await message in request {
      defer { position += 1 }
      let draft = message.product.draft
      do {
        try draft.validate()
      } catch {
        summary.recordFailure(error.prefixingFields(with: "product"), at: position, sku: draft.sku)
        continue
      }
      batch.append(draft)
      if batch.count >= self.configuration.importBatchSize {
        try await self.commit(&batch, into: &summary)
      }
    }
    try await self.commit(&batch, into: &summary)
    return summary
  }

  /// Upserts a batch in one transaction and counts its outcomes.
  private func commit(
    _ batch: inout [ProductDraft],
    into summary: inout Storefront_V1_ImportProductsResponse
  ) async throws {
    guard !batch.isEmpty else { return }
    try Task.checkCancellation()
    for outcome in try await self.products.upsert(batch) {
      switch outcome {
      case .created: summary.created += 1
      case .updated: summary.updated += 1
      case .unchanged: summary.unchanged += 1
      }
    }
    batch.removeAll(keepingCapacity: true)
  }
}

extension Storefront_V1_ImportProductsResponse {
  fileprivate mutating func recordFailure(
    _ error: StorefrontError,
    at position: Int64,
    sku: String
  ) {
    self.failed += 1
    guard self.failures.count < ProductService.maxListedImportFailures else { return }
    let violation = error.fieldViolations.first
    self.failures.append(
      .with {
        $0.position = position
        $0.sku = String(sku.prefix(128))
        $0.field = violation?.field ?? ""
        $0.reason = violation?.description ?? error.message
      }
    )
  }
}
