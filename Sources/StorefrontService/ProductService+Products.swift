import GRPCCore
import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// The fields an UpdateProduct mask may name, by their API path.
  static let maskableFields: [String: ProductField] = Dictionary(
    uniqueKeysWithValues: ProductField.allCases.map { ($0.rawValue, $0) }
  )

  /// GetProduct. Errors: INVALID_ARGUMENT (empty id), NOT_FOUND.
  func getProduct(
    _ request: Storefront_V1_ProductRequest
  ) async throws
    -> Storefront_V1_ProductResponse
  {
    let id = try Self.requireID(request.id, field: "id")
    return Storefront_V1_ProductResponse(try await self.products.product(id: id))
  }

  /// CreateProduct. Errors: INVALID_ARGUMENT, ALREADY_EXISTS (sku).
  func createProduct(
    _ request: Storefront_V1_CreateProductRequest
  ) async throws
    -> Storefront_V1_ProductResponse
  {
    let draft = request.product.draft
    do {
      try draft.validate()
    } catch {
      throw error.prefixingFields(with: "product")
    }
    return Storefront_V1_ProductResponse(try await self.products.insert(draft))
  }

  /// UpdateProduct. Errors: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS (sku), ABORTED (etag).
  func updateProduct(
    _ request: Storefront_V1_UpdateProductRequest
  ) async throws
    -> Storefront_V1_ProductResponse
  {
    let id = try Self.requireID(request.product.id, field: "product.id")
    var fields = Set<ProductField>()
    if request.updateMask.paths.isEmpty {
      fields = Set(ProductField.allCases)
    }
    for path in request.updateMask.paths {
      guard let field = Self.maskableFields[path] else {
        throw StorefrontError.invalidArgument(
          field: "update_mask",
          "unknown or immutable path '\(path)'; allowed: "
            + ProductField.allCases.map(\.rawValue).joined(separator: ", ")
        )
      }
      fields.insert(field)
    }
    let update = ProductUpdate(
      id: id,
      fields: fields,
      values: request.product.draft,
      expectedETag: request.product.etag.isEmpty ? nil : request.product.etag
    )
    do {
      return Storefront_V1_ProductResponse(try await self.products.update(update))
    } catch let error as StorefrontError where error.code == .invalidArgument {
      throw error.prefixingFields(with: "product")
    }
  }

  /// DeleteProduct. Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED (etag).
  func deleteProduct(
    _ request: Storefront_V1_DeleteProductRequest
  ) async throws
    -> Storefront_V1_DeleteProductResponse
  {
    let id = try Self.requireID(request.id, field: "id")
    let products = self.products
    let etag = request.etag.isEmpty ? nil : request.etag
    try await self.blobs.removeUnreferenced {
      try await products.delete(id: id, expectedETag: etag)
    }
    self.chat.closeRoom(id)
    return Storefront_V1_DeleteProductResponse()
  }

  /// ListProducts: reads the store a batch at a time and writes as it goes, so memory stays
  /// flat whatever the catalogue's size; stops when the RPC is cancelled or times out.
  /// Errors: INVALID_ARGUMENT, CANCELLED.
  func listProducts(
    _ request: Storefront_V1_ProductRequest,
    into response: RPCWriter<Storefront_V1_ProductResponse>,
    context: ServerContext
  ) async throws {
    var filter = ProductFilter(
      category: request.category.isEmpty ? nil : request.category,
      query: request.query.isEmpty ? nil : request.query,
      minPriceCents: request.hasMinPriceCents ? request.minPriceCents : nil,
      maxPriceCents: request.hasMaxPriceCents ? request.maxPriceCents : nil,
      afterID: request.afterID.isEmpty ? nil : request.afterID
    )
    try filter.validate()
    guard request.pageSize >= 0 else {
      throw StorefrontError.invalidArgument(field: "page_size", "must not be negative")
    }
    var remaining = request.pageSize == 0 ? Int.max : Int(request.pageSize)
    let batchSize = max(1, self.configuration.listBatchSize)
    while remaining > 0 {
      try context.checkNotCancelled(unlessDraining: self.drain)
      let limit = min(remaining, batchSize)
      let batch = try await self.products.products(matching: filter, limit: limit)
      for product in batch {
        try context.checkNotCancelled(unlessDraining: self.drain)
        try await response.write(Storefront_V1_ProductResponse(product))
      }
      remaining -= batch.count
      guard batch.count == limit, let last = batch.last else { break }
      filter.afterID = last.id
    }
  }
}
