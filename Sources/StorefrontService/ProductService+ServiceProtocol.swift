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
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      try await self.listProducts(request, into: response, context: context)
    }
  }

  /// Uploads images. Errors: INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, CANCELLED.
  public func uploadProductImages(
    request: RPCAsyncSequence<Storefront_V1_ImageRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_UploadResponse {
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
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
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
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

  /// Streams product changes; the response header `x-change-sequence` carries the sequence
  /// the stream starts after.
  /// Errors: INVALID_ARGUMENT, OUT_OF_RANGE, RESOURCE_EXHAUSTED, CANCELLED.
  public func watchProducts(
    request: ServerRequest<Storefront_V1_WatchProductsRequest>,
    context: ServerContext
  ) async throws -> StreamingServerResponse<Storefront_V1_ProductChange> {
    try await self.watchProducts(request.message, context: context)
  }

  /// The same stream as ``watchProducts(request:context:)`` without the response header;
  /// the server calls that one, this is for direct callers of the simple protocol.
  public func watchProducts(
    request: Storefront_V1_WatchProductsRequest,
    response: RPCWriter<Storefront_V1_ProductChange>,
    context: ServerContext
  ) async throws {
    let answer = try await self.watchProducts(request, context: context)
    _ = try await answer.accepted.get().producer(response)
  }

  /// Streams an image from `offset`.
  /// Errors: INVALID_ARGUMENT, NOT_FOUND, OUT_OF_RANGE, CANCELLED.
  public func downloadProductImage(
    request: Storefront_V1_DownloadProductImageRequest,
    response: RPCWriter<Storefront_V1_DownloadProductImageResponse>,
    context: ServerContext
  ) async throws {
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      try await self.downloadProductImage(request, into: response)
    }
  }

  /// Upserts products by sku in batches. Errors: UNAVAILABLE, RESOURCE_EXHAUSTED, CANCELLED.
  public func importProducts(
    request: RPCAsyncSequence<Storefront_V1_ImportProductsRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_ImportProductsResponse {
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      try await self.importProducts(request)
    }
  }
}
