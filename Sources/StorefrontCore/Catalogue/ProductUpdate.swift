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

  /// A change to the fields that an update mask names by their API paths (`price_cents`);
  /// an empty mask names every field.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming `update_mask` for a path that is
  ///   not a writable field.
  public init(
    id: String,
    paths: [String],
    values: ProductDraft,
    expectedETag: String? = nil
  ) throws(StorefrontError) {
    var fields = Set<ProductField>()
    for path in paths {
      guard let field = ProductField(rawValue: path) else {
        throw StorefrontError.invalidArgument(
          field: "update_mask",
          "unknown or immutable path '\(path)'; allowed: "
            + ProductField.allCases.map(\.rawValue).joined(separator: ", ")
        )
      }
      fields.insert(field)
    }
    self.init(
      id: id,
      fields: paths.isEmpty ? Set(ProductField.allCases) : fields,
      values: values,
      expectedETag: expectedETag
    )
  }

  /// Applies the update to `current`: checks the etag, then the values of the changed fields
  /// (the one place an update is validated). Stores call this inside their write
  /// transaction, so the checks and the write are atomic, and a client hears of an unknown
  /// product or a stale etag before it hears of bad values.
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
