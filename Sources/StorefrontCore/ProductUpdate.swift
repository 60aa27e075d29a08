/// A change to some fields of one product.
public struct ProductUpdate: Sendable {
  /// The product to change.
  public var id: String
  /// The fields to change; the others keep their values.
  public var fields: Set<ProductField>
  /// Where the new values come from.
  public var values: ProductDraft
  /// When set, the update applies only if this is the product's current etag.
  public var expectedETag: String?

  public init(
    id: String,
    fields: Set<ProductField>,
    values: ProductDraft,
    expectedETag: String? = nil
  ) {
    self.id = id
    self.fields = fields
    self.values = values
    self.expectedETag = expectedETag
  }

  /// Applies the update to `current`, checking the etag and the changed fields.
  ///
  /// Stores call this inside their write transaction, so the check and the write are atomic.
  /// - Returns: the new draft.
  /// - Throws: ``StorefrontError`` `aborted` for a stale etag, `invalidArgument` for bad values.
  public func apply(to current: Product) throws(StorefrontError) -> ProductDraft {
    try Self.checkETag(self.expectedETag, of: current)
    try self.values.validate(fields: self.fields)
    var draft = current.draft
    for field in self.fields {
      field.copy(from: self.values, into: &draft)
    }
    return draft
  }

  /// Throws `aborted` unless `expected` is nil or `product`'s current etag.
  public static func checkETag(_ expected: String?, of product: Product) throws(StorefrontError) {
    if let expected, expected != product.etag {
      throw StorefrontError(
        code: .aborted,
        message:
          "etag '\(expected)' is stale: product '\(product.id)' has changed since it was read"
      )
    }
  }
}
