public import Foundation

/// One committed write to the catalogue, as the change log keeps it.
public struct ProductChange: Hashable, Sendable {
  /// What the write did.
  public enum Kind: Int, Hashable, Sendable {
    case created = 1
    case updated = 2
    case deleted = 3
  }

  /// Grows with every committed write, in commit order; never reused.
  public var sequence: Int64
  public var kind: Kind
  /// The product as the write left it; for ``Kind/deleted``, as it was when deleted.
  public var product: Product
  /// The product's category before the write, when the write changed it.
  public var previousCategory: String?
  public var changeTime: Date

  public init(
    sequence: Int64,
    kind: Kind,
    product: Product,
    previousCategory: String? = nil,
    changeTime: Date
  ) {
    self.sequence = sequence
    self.kind = kind
    self.product = product
    self.previousCategory = previousCategory
    self.changeTime = changeTime
  }
}

/// Which changes a watcher wants. Empty filters match every change.
public struct ChangeFilter: Hashable, Sendable {
  /// The most ids one filter may name.
  public static let maxIDs = 100

  /// Changes of products in this category, before or after the change.
  public var category: String?
  /// Changes of these products.
  public var ids: Set<String>

  public init(category: String? = nil, ids: Set<String> = []) {
    self.category = category
    self.ids = ids
  }

  /// Whether `change` passes the filter. Text is compared byte for byte, as the store's
  /// SQL does (Swift's `==` would also match canonically equivalent text, such as "é" as one
  /// character and as "e" plus an accent).
  public func matches(_ change: ProductChange) -> Bool {
    func same(_ left: String?, _ right: String) -> Bool {
      left.map { $0.utf8.elementsEqual(right.utf8) } ?? false
    }
    if let category = self.category, !same(change.product.draft.category, category),
      !same(change.previousCategory, category)
    {
      return false
    }
    return self.ids.isEmpty
      || self.ids.contains { same($0, change.product.id) }
  }
}

/// How long the change log keeps changes: a change goes as soon as either bound says so.
public struct ChangeRetention: Hashable, Sendable {
  /// Keep at most the newest `maxCount` changes...
  public var maxCount: Int64
  /// ...and none older than `maxAge`.
  public var maxAge: Duration

  public init(maxCount: Int64 = 1_000_000, maxAge: Duration = .seconds(7 * 24 * 3600)) {
    self.maxCount = max(1, maxCount)
    self.maxAge = maxAge
  }
}

/// The log of committed product writes: every write of a ``ProductStore`` appends its change
/// in the same transaction, so the log and the catalogue never disagree.
public protocol ProductChangeStore: Sendable {
  /// The sequence of the newest change; 0 when there has been none.
  func latestChangeSequence() async throws -> Int64

  /// Up to `limit` changes after `sequence` that match `filter`, oldest first.
  ///
  /// - Returns: the changes, and the sequence the next call should start after (past the
  ///   changes the filter skipped, so a sparse filter does not rescan them).
  /// - Throws: ``StorefrontError`` `outOfRange` when changes after `sequence` were pruned,
  ///   or when `sequence` was never handed out.
  func changes(
    after sequence: Int64,
    matching filter: ChangeFilter,
    limit: Int
  ) async throws -> (changes: [ProductChange], through: Int64)

  /// Returns once a change after `sequence` has been committed.
  /// - Throws: `CancellationError` when the calling task is cancelled first;
  ///   ``StorefrontError`` `unavailable` when the store no longer serves waits (shutdown).
  func waitForChange(after sequence: Int64) async throws
}
