/// The catalogue's use cases: looking products up, listing them, creating, updating and
/// deleting them. Every rule of a product write is applied here, once, whoever calls (gRPC,
/// a command-line tool, a test); stores take what they are given as valid.
///
/// Field violations name the fields as the API does (`id`, `price_cents`, `update_mask`);
/// a protocol layer prefixes them with where they sit in its request (`product.`).
public struct Catalogue: Sendable {
  /// How listings read the store.
  public struct Configuration: Hashable, Sendable {
    /// How many products a listing reads from the store at a time.
    public var listBatchSize: Int

    public init(listBatchSize: Int = 256) {
      self.listBatchSize = listBatchSize
    }
  }

  let products: any ProductStore
  let blobs: any ImageContentStore
  let chat: ChatHub
  let configuration: Configuration

  /// - Parameters:
  ///   - products: where products live.
  ///   - blobs: where image files live: deleting a product deletes the files only it used.
  ///   - chat: the chat rooms: deleting a product closes its room.
  ///   - configuration: how listings read the store.
  public init(
    products: any ProductStore,
    blobs: any ImageContentStore,
    chat: ChatHub,
    configuration: Configuration = Configuration()
  ) {
    self.products = products
    self.blobs = blobs
    self.chat = chat
    self.configuration = configuration
  }

  /// The product with `id`.
  /// - Throws: ``StorefrontError`` `invalidArgument` (`id`), `notFound`.
  public func product(id: String) async throws -> Product {
    try await self.products.product(id: Identifier.validate(id, field: "id"))
  }

  /// Creates a product from a valid draft.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming every bad field, `alreadyExists`
  ///   for a taken sku.
  public func create(_ draft: ProductDraft) async throws -> Product {
    try draft.validate()
    do {
      return try await self.products.insert(draft)
    } catch let error as StorefrontError where error.code == .alreadyExists {
      throw await self.skuTaken(draft.sku, error)
    }
  }

  /// Changes the fields an update mask names (all of them for an empty mask); the store
  /// checks the etag and the values in its transaction (``ProductUpdate/apply(to:)``).
  /// - Parameters:
  ///   - id: the product.
  ///   - paths: the update mask's paths, such as `price_cents`.
  ///   - values: where the new values come from.
  ///   - expectedETag: when set, the update applies only to this version of the product.
  /// - Throws: ``StorefrontError`` `invalidArgument` (`id`, `update_mask`, bad values),
  ///   `notFound`, `aborted` (stale etag), `alreadyExists` (a taken sku).
  public func update(
    id: String,
    paths: [String],
    values: ProductDraft,
    expectedETag: String?
  ) async throws -> Product {
    let update = try ProductUpdate(
      id: Identifier.validate(id, field: "id"),
      paths: paths,
      values: values,
      expectedETag: expectedETag
    )
    do {
      return try await self.products.update(update)
    } catch let error as StorefrontError where error.code == .alreadyExists {
      throw await self.skuTaken(values.sku, error)
    }
  }

  /// The error for a write that gave a product a sku another product has: it names both.
  private func skuTaken(_ sku: String, _ error: StorefrontError) async -> StorefrontError {
    let owner = try? await self.products.product(sku: sku)
    return StorefrontError(
      code: .alreadyExists,
      message: "sku '\(sku)' is taken" + (owner.map { " by product '\($0.id)'" } ?? ""),
      cause: error
    )
  }

  /// Deletes a product with its images and chat history; image files no other product uses
  /// are deleted, and the product's chat room is closed.
  /// - Throws: ``StorefrontError`` `invalidArgument` (`id`), `notFound`, `aborted` (stale
  ///   etag).
  public func delete(id: String, expectedETag: String?) async throws {
    let id = try Identifier.validate(id, field: "id")
    let products = self.products
    try await self.blobs.removeUnreferenced {
      try await products.delete(id: id, expectedETag: expectedETag)
    }
    self.chat.closeRoom(id)
  }

  /// The products that match `filter`, in id order, read from the store a batch at a time as
  /// they are consumed, so memory stays flat whatever the catalogue's size.
  /// - Parameters:
  ///   - filter: which products, and where to resume.
  ///   - pageSize: how many at most; 0 for all that match.
  /// - Throws: ``StorefrontError`` `invalidArgument` for a bad filter or a negative
  ///   `page_size`.
  public func list(
    _ filter: ProductFilter,
    pageSize: Int
  ) throws(StorefrontError) -> ProductListing {
    try filter.validate()
    guard pageSize >= 0 else {
      throw StorefrontError.invalidArgument(field: "page_size", "must not be negative")
    }
    return ProductListing(
      store: self.products,
      filter: filter,
      limit: pageSize == 0 ? Int.max : pageSize,
      batchSize: max(1, self.configuration.listBatchSize)
    )
  }
}
