extension Identifier {
  /// The longest identifier accepted; longer ones cannot exist.
  public static let maxLength = 128

  /// Checks that a request names an identifier of a plausible length.
  /// - Parameter field: the request field that carries it, for the violation.
  /// - Returns: `id`.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming `field`.
  @discardableResult
  public static func validate(_ id: String, field: String) throws(StorefrontError) -> String {
    guard !id.isEmpty else {
      throw StorefrontError.invalidArgument(field: field, "must not be empty")
    }
    guard id.utf8.count <= Self.maxLength else {
      throw StorefrontError.invalidArgument(
        field: field,
        "must be at most \(Self.maxLength) bytes"
      )
    }
    return id
  }
}
