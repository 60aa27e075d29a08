extension ProductDraft {
  /// The longest name accepted, in characters.
  public static let maxNameLength = 200
  /// The longest sku accepted, in characters.
  public static let maxSKULength = 64
  /// The longest description accepted, in characters.
  public static let maxDescriptionLength = 10_000
  /// The longest category accepted, in characters.
  public static let maxCategoryLength = 100

  /// Checks every field and reports all that are wrong at once.
  ///
  /// - Parameter fields: the fields to check; all by default.
  /// - Throws: ``StorefrontError`` with code `invalidArgument` and one violation per bad field.
  public func validate(
    fields: Set<ProductField> = Set(ProductField.allCases)
  ) throws(StorefrontError) {
    var violations: [StorefrontError.FieldViolation] = []
    func check(_ field: ProductField, _ problem: String?) {
      if fields.contains(field), let problem {
        violations.append(.init(field: field.rawValue, description: problem))
      }
    }
    check(.sku, Self.problem(withSKU: self.sku))
    check(.name, TextRule(minimum: 1, maximum: Self.maxNameLength).problem(with: self.name))
    check(
      .description,
      TextRule(minimum: 0, maximum: Self.maxDescriptionLength).problem(with: self.description)
    )
    check(
      .category,
      TextRule(minimum: 0, maximum: Self.maxCategoryLength).problem(with: self.category)
    )
    check(.priceCents, self.priceCents < 0 ? "must not be negative" : nil)
    check(.currency, Self.problem(withCurrency: self.currency))
    check(.stock, self.stock < 0 ? "must not be negative" : nil)
    if let error = StorefrontError.invalidArguments(violations) {
      throw error
    }
  }

  private static func problem(withSKU sku: String) -> String? {
    guard !sku.isEmpty else { return "must not be empty" }
    guard sku.unicodeScalars.count <= Self.maxSKULength else {
      return "must be at most \(Self.maxSKULength) characters"
    }
    let allowed = sku.unicodeScalars.allSatisfy { scalar in
      switch scalar {
      case "A" ... "Z", "a" ... "z", "0" ... "9", ".", "_", "-": true
      default: false
      }
    }
    return allowed ? nil : "may contain only A-Z, a-z, 0-9, '.', '_' and '-'"
  }

  private static func problem(withCurrency currency: String) -> String? {
    let scalars = currency.unicodeScalars
    let valid = scalars.count == 3 && scalars.allSatisfy { ("A" ... "Z").contains($0) }
    return valid ? nil : "must be an ISO 4217 code of three upper-case letters, e.g. USD"
  }
}
