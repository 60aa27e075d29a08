/// One bulk import: products are validated one by one, as ``Catalogue/create(_:)`` does,
/// and the valid ones are upserted by sku in batches of one transaction each. A product
/// that fails validation is listed in the summary and the import goes on. An import that
/// stops midway keeps the batches committed before; since it upserts, running it again is
/// safe.
///
/// Not `Sendable`: one import belongs to one task.
public final class ProductImport {
  /// The most failures a summary lists; ``ImportSummary/failed`` counts them all.
  public static let maxListedFailures = 1_000

  private let products: any ProductStore
  private let batchSize: Int
  private var batch: [ProductDraft] = []
  private var position: Int64 = 0
  /// What the import has done so far.
  public private(set) var summary = ImportSummary()

  /// - Parameters:
  ///   - products: where the products go.
  ///   - batchSize: how many products one transaction commits.
  public init(products: any ProductStore, batchSize: Int) {
    self.products = products
    self.batchSize = max(1, batchSize)
  }

  /// Takes the next product: a bad one is listed as a failure, a good one joins the batch,
  /// which is committed once full.
  /// - Throws: store errors (`unavailable`, `resourceExhausted`) and `CancellationError`;
  ///   the import then stops, keeping the batches committed before.
  public func add(_ draft: ProductDraft) async throws {
    defer { self.position += 1 }
    do {
      try draft.validate()
    } catch {
      self.summary.recordFailure(error, at: self.position, sku: draft.sku)
      return
    }
    self.batch.append(draft)
    if self.batch.count >= self.batchSize {
      try await self.commit()
    }
  }

  /// Commits what is left and returns the summary.
  /// - Throws: as ``add(_:)``.
  public func finish() async throws -> ImportSummary {
    try await self.commit()
    return self.summary
  }

  private func commit() async throws {
    guard !self.batch.isEmpty else { return }
    try Task.checkCancellation()
    for outcome in try await self.products.upsert(self.batch) {
      switch outcome {
      case .created: self.summary.created += 1
      case .updated: self.summary.updated += 1
      case .unchanged: self.summary.unchanged += 1
      }
    }
    self.batch.removeAll(keepingCapacity: true)
  }
}

/// What an import did.
public struct ImportSummary: Hashable, Sendable {
  /// A product that was not imported, and why.
  public struct Failure: Hashable, Sendable {
    /// Its position in the import, from 0.
    public var position: Int64
    /// Its sku as sent, cut to 128 characters.
    public var sku: String
    /// The first bad field, named as in ``ProductField``; empty when no field is to blame.
    public var field: String
    public var reason: String
  }

  public var created: Int64 = 0
  public var updated: Int64 = 0
  public var unchanged: Int64 = 0
  public var failed: Int64 = 0
  /// The first ``ProductImport/maxListedFailures`` failures.
  public var failures: [Failure] = []

  public init() {}

  mutating func recordFailure(_ error: StorefrontError, at position: Int64, sku: String) {
    self.failed += 1
    guard self.failures.count < ProductImport.maxListedFailures else { return }
    let violation = error.fieldViolations.first
    self.failures.append(
      Failure(
        position: position,
        sku: String(sku.prefix(128)),
        field: violation?.field ?? "",
        reason: violation?.description ?? error.message
      )
    )
  }
}
