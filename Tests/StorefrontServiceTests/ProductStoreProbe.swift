import StorefrontCore
import StorefrontSQLite
import Synchronization

/// The real store, watched: counts the calls of each operation and lets a test fail one.
final class ProductStoreProbe: ProductStore {
  enum Operation: Hashable, Sendable {
    case product, productBySKU, products, insert, insertMany, update, delete, productCount, upsert
  }

  let base: SQLiteStore
  private let calls = Mutex<[Operation: Int]>([:])
  private let willCall: @Sendable (Operation) throws -> Void

  /// - Parameter willCall: runs before each operation reaches the store; what it throws,
  ///   the operation throws.
  init(base: SQLiteStore, willCall: @escaping @Sendable (Operation) throws -> Void = { _ in }) {
    self.base = base
    self.willCall = willCall
  }

  /// How many times `operation` has been called.
  func count(_ operation: Operation) -> Int {
    self.calls.withLock { $0[operation, default: 0] }
  }

  private func call(_ operation: Operation) throws {
    self.calls.withLock { $0[operation, default: 0] += 1 }
    try self.willCall(operation)
  }

  func product(id: String) async throws -> Product {
    try self.call(.product)
    return try await self.base.product(id: id)
  }

  func product(sku: String) async throws -> Product? {
    try self.call(.productBySKU)
    return try await self.base.product(sku: sku)
  }

  func products(matching filter: ProductFilter, limit: Int) async throws -> [Product] {
    try self.call(.products)
    return try await self.base.products(matching: filter, limit: limit)
  }

  func insert(_ draft: ProductDraft) async throws -> Product {
    try self.call(.insert)
    return try await self.base.insert(draft)
  }

  func insert(contentsOf drafts: [ProductDraft]) async throws -> Int {
    try self.call(.insertMany)
    return try await self.base.insert(contentsOf: drafts)
  }

  func update(_ update: ProductUpdate) async throws -> Product {
    try self.call(.update)
    return try await self.base.update(update)
  }

  func delete(id: String, expectedETag: String?) async throws -> [String] {
    try self.call(.delete)
    return try await self.base.delete(id: id, expectedETag: expectedETag)
  }

  func productCount() async throws -> Int {
    try self.call(.productCount)
    return try await self.base.productCount()
  }

  func upsert(_ drafts: [ProductDraft]) async throws -> [UpsertOutcome] {
    try self.call(.upsert)
    return try await self.base.upsert(drafts)
  }
}
