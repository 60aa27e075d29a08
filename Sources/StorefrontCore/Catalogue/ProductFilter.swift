/// Which products a listing returns, and where it resumes.
public struct ProductFilter: Hashable, Sendable {
  /// Exact category; nil for any.
  public var category: String?
  /// Case-insensitive substring of name or description; nil for any.
  public var query: String?
  /// Inclusive lower price bound in minor units.
  public var minPriceCents: Int64?
  /// Inclusive upper price bound in minor units.
  public var maxPriceCents: Int64?
  /// Only products whose id sorts after this one.
  public var afterID: String?

  public init(
    category: String? = nil,
    query: String? = nil,
    minPriceCents: Int64? = nil,
    maxPriceCents: Int64? = nil,
    afterID: String? = nil
  ) {
    self.category = category
    self.query = query
    self.minPriceCents = minPriceCents
    self.maxPriceCents = maxPriceCents
    self.afterID = afterID
  }

  /// The longest query accepted, in characters.
  public static let maxQueryLength = 200

  /// Checks the bounds and lengths.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming the field.
  public func validate() throws(StorefrontError) {
    var violations: [StorefrontError.FieldViolation] = []
    if let min = self.minPriceCents, min < 0 {
      violations.append(.init(field: "min_price_cents", description: "must not be negative"))
    }
    if let max = self.maxPriceCents, max < 0 {
      violations.append(.init(field: "max_price_cents", description: "must not be negative"))
    }
    if let min = self.minPriceCents, let max = self.maxPriceCents, min > max {
      violations.append(
        .init(field: "max_price_cents", description: "must not be less than min_price_cents")
      )
    }
    if let query = self.query, query.count > Self.maxQueryLength {
      violations.append(
        .init(field: "query", description: "must be at most \(Self.maxQueryLength) characters")
      )
    }
    if let error = StorefrontError.invalidArguments(violations) {
      throw error
    }
  }
}
