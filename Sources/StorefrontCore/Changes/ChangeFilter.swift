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
