public import GRPCCore
public import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// Looks up one product. Errors: INVALID_ARGUMENT (empty id), NOT_FOUND.
  public func getProduct(
    request: Storefront_V1_ProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    Storefront_V1_ProductResponse(try await self.catalogue.product(id: request.id))
  }

  /// Creates a product. Errors: INVALID_ARGUMENT, ALREADY_EXISTS.
  public func createProduct(
    request: Storefront_V1_CreateProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    do {
      return Storefront_V1_ProductResponse(try await self.catalogue.create(request.product.draft))
    } catch let error as StorefrontError {
      throw error.prefixingFields(with: "product")
    }
  }

  /// Updates the masked fields. Errors: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, ABORTED.
  public func updateProduct(
    request: Storefront_V1_UpdateProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    do {
      let product = try await self.catalogue.update(
        id: request.product.id,
        paths: request.updateMask.paths,
        values: request.product.draft,
        expectedETag: request.product.etag.isEmpty ? nil : request.product.etag
      )
      return Storefront_V1_ProductResponse(product)
    } catch let error as StorefrontError {
      // The mask is a field of the request; the rest are fields of its product.
      throw error.mappingFields { $0 == "update_mask" ? $0 : "product.\($0)" }
    }
  }

  /// Deletes a product. Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED.
  public func deleteProduct(
    request: Storefront_V1_DeleteProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_DeleteProductResponse {
    try await self.catalogue.delete(
      id: request.id,
      expectedETag: request.etag.isEmpty ? nil : request.etag
    )
    return Storefront_V1_DeleteProductResponse()
  }

  /// Streams the products matching the filters, by id, reading the store a batch at a time
  /// as it writes. Errors: INVALID_ARGUMENT, CANCELLED.
  public func listProducts(
    request: Storefront_V1_ProductRequest,
    response: RPCWriter<Storefront_V1_ProductResponse>,
    context: ServerContext
  ) async throws {
    let filter = ProductFilter(
      category: request.category.isEmpty ? nil : request.category,
      query: request.query.isEmpty ? nil : request.query,
      minPriceCents: request.hasMinPriceCents ? request.minPriceCents : nil,
      maxPriceCents: request.hasMaxPriceCents ? request.maxPriceCents : nil,
      afterID: request.afterID.isEmpty ? nil : request.afterID
    )
    let listing = try self.catalogue.list(filter, pageSize: Int(request.pageSize))
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      for try await product in listing {
        try await response.write(Storefront_V1_ProductResponse(product))
      }
    }
  }
}
