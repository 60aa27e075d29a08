/// Durable storage of products. Every write is atomic and durable once it returns, and is
/// recorded in the store's change log in the same transaction.
///
/// A store takes what it is given as valid: the use cases (``Catalogue``, ``ProductImport``)
/// check every draft once, before it reaches a store.
public protocol ProductStore: Sendable {
  /// The product with `id`.
  /// - Throws: ``StorefrontError`` `notFound`.
  func product(id: String) async throws -> Product

  /// The product with `sku`, if there is one.
  func product(sku: String) async throws -> Product?

  /// Up to `limit` products matching `filter`, ordered by id.
  func products(matching filter: ProductFilter, limit: Int) async throws -> [Product]

  /// Stores a new product; the store assigns id, times and etag.
  /// - Throws: ``StorefrontError`` `alreadyExists` for a taken sku.
  func insert(_ draft: ProductDraft) async throws -> Product

  /// Stores many new products in one transaction, for demo catalogues and bulk loads.
  /// - Returns: how many were inserted.
  /// - Throws: ``StorefrontError`` `alreadyExists` for a taken sku; then none is stored.
  func insert(contentsOf drafts: [ProductDraft]) async throws -> Int

  /// Applies `update` atomically.
  /// - Throws: ``StorefrontError`` `notFound`, `aborted` (stale etag), `alreadyExists` (sku).
  func update(_ update: ProductUpdate) async throws -> Product

  /// Deletes a product with its images and chat history.
  ///
  /// - Returns: the content hashes of images no other product references any more, so the
  ///   caller can delete their files.
  /// - Throws: ``StorefrontError`` `notFound`, `aborted` (stale etag).
  func delete(id: String, expectedETag: String?) async throws -> [String]

  /// How many products there are.
  func productCount() async throws -> Int

  /// Creates or updates products by sku, all in one transaction: a new sku creates a
  /// product, a known one gets every field of its draft.
  /// - Returns: what happened to each draft, in order.
  func upsert(_ drafts: [ProductDraft]) async throws -> [UpsertOutcome]
}

/// What an upsert did with one draft.
public enum UpsertOutcome: Hashable, Sendable {
  case created
  /// At least one field changed.
  case updated
  /// The product already had exactly these fields; nothing was written.
  case unchanged
}
