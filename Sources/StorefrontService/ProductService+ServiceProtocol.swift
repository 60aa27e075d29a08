public import GRPCCore
public import StorefrontAPI

extension ProductService: Storefront_V1_ProductService.SimpleServiceProtocol {
  /// Looks up one product. Errors: INVALID_ARGUMENT (empty id), NOT_FOUND.
  public func getProduct(
    request: Storefront_V1_ProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    try await self.getProduct(request)
  }

  /// Streams the products matching the filters, by id.
  /// Errors: INVALID_ARGUMENT, CANCELLED.
  public func listProducts(
    request: Storefront_V1_ProductRequest,
    response: RPCWriter<Storefront_V1_ProductResponse>,
    context: ServerContext
  ) async throws {
    try await context.cancellingWithRPC {
      try await self.listProducts(request, into: response, context: context)
    }
  }

  /// Uploads images. Errors: INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, CANCELLED.
  public func uploadProductImages(
    request: RPCAsyncSequence<Storefront_V1_ImageRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_UploadResponse {
    try await context.cancellingWithRPC {
      try await self.uploadProductImages(request, context: context)
    }
  }

  /// A product's chat room.
  /// Errors: INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, UNAVAILABLE, CANCELLED.
  public func chat(
    request: RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>,
    response: RPCWriter<Storefront_V1_ChatMessage>,
    context: ServerContext
  ) async throws {
    try await context.cancellingWithRPC {
      try await self.chat(request, into: response, context: context)
    }
  }

  /// Creates a product. Errors: INVALID_ARGUMENT, ALREADY_EXISTS.
  public func createProduct(
    request: Storefront_V1_CreateProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    try await self.createProduct(request)
  }

  /// Updates the masked fields. Errors: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, ABORTED.
  public func updateProduct(
    request: Storefront_V1_UpdateProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    try await self.updateProduct(request)
  }

  /// Deletes a product. Errors: INVALID_ARGUMENT, NOT_FOUND, ABORTED.
  public func deleteProduct(
    request: Storefront_V1_DeleteProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_DeleteProductResponse {
    try await self.deleteProduct(request)
  }
}
