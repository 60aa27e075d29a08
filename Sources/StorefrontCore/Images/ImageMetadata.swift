/// What a client says about an image it is about to upload.
public struct ImageMetadata: Hashable, Sendable {
  /// The product the image belongs to.
  public var productID: String
  /// The client's name for the file, for display only.
  public var filename: String
  /// The declared type; the content must match it.
  public var contentType: String
  /// A SHA-256 the client vouches for, in hexadecimal; empty for none.
  public var sha256: String

  public init(productID: String, filename: String, contentType: String, sha256: String = "") {
    self.productID = productID
    self.filename = filename
    self.contentType = contentType
    self.sha256 = sha256
  }

  /// The longest file name accepted, in UTF-8 bytes.
  public static let maxFilenameBytes = 255

  /// Checks every field, in the order a client reads them.
  /// - Returns: the declared format.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming the field (`metadata.*`).
  func validate() throws(StorefrontError) -> ImageFormat {
    try Identifier.validate(self.productID, field: "metadata.product_id")
    guard let format = ImageFormat(contentType: self.contentType) else {
      throw StorefrontError.invalidArgument(
        field: "metadata.content_type",
        "must be one of " + ImageFormat.allCases.map(\.rawValue).joined(separator: ", ")
      )
    }
    guard self.filename.utf8.count <= Self.maxFilenameBytes,
      !TextRule.containsControlCharacters(self.filename, allowingLineBreaks: false)
    else {
      throw StorefrontError.invalidArgument(
        field: "metadata.filename",
        "must be at most \(Self.maxFilenameBytes) bytes without control characters"
      )
    }
    let hex = self.sha256.lowercased()
    guard hex.isEmpty || Self.isSHA256Hex(hex) else {
      throw StorefrontError.invalidArgument(
        field: "metadata.sha256",
        "must be 64 hexadecimal characters"
      )
    }
    return format
  }

  private static func isSHA256Hex(_ text: String) -> Bool {
    text.utf8.count == 64
      && text.utf8.allSatisfy { (48 ... 57).contains($0) || (97 ... 102).contains($0) }
  }
}
