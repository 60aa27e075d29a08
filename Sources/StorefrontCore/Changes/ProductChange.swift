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

extension ProductChange {
  /// How many entries of the change log one read of it looks at, at most, in every store: a
  /// filter that matches little does not scan the whole log in one read, and the answer's
  /// `through` is the same whether the change tail or the log gives it.
  public static let logScanWindow: Int64 = 10_000

  /// The last sequence a read of the log after `sequence` scans: at most ``logScanWindow``
  /// past it, never past `head`. Every store's log read starts here.
  /// - Throws: `outOfRange` when `sequence` is older than what the log keeps (`pruned`) or
  ///   newer than anything handed out (`head`).
  public static func scanWindow(
    after sequence: Int64,
    head: Int64,
    pruned: Int64
  ) throws
    -> Int64
  {
    guard sequence >= pruned else {
      throw StorefrontError(
        code: .outOfRange,
        message:
          "changes after \(sequence) are no longer kept; the change log starts after \(pruned)"
      )
    }
    guard sequence <= head else {
      throw StorefrontError(
        code: .outOfRange,
        message: "sequence \(sequence) was never handed out; the newest is \(head)"
      )
    }
    return min(head, sequence + Self.logScanWindow)
  }
}
