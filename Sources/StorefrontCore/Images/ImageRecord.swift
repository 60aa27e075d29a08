/// An image attached to a product. Its bytes live in an ``ImageBlobStore`` under ``sha256``.
public struct ImageRecord: Hashable, Sendable {
  public var id: String
  public var productID: String
  /// The client's name for the file, for display only.
  public var filename: String
  public var contentType: String
  public var sizeBytes: Int64
  /// Lower-case hex SHA-256 of the bytes.
  public var sha256: String

  public init(
    id: String,
    productID: String,
    filename: String,
    contentType: String,
    sizeBytes: Int64,
    sha256: String
  ) {
    self.id = id
    self.productID = productID
    self.filename = filename
    self.contentType = contentType
    self.sizeBytes = sizeBytes
    self.sha256 = sha256
  }
}

/// Durable records of images.
public protocol ImageStore: Sendable {
  /// Records `images` and attaches each to its product, all in one transaction, changing the
  /// products' etags and update times.
  /// - Throws: ``StorefrontError`` `notFound` when a product is gone; nothing is recorded then.
  func attach(_ images: [ImageRecord]) async throws

  /// The image with `id`.
  /// - Throws: ``StorefrontError`` `notFound`.
  func image(id: String) async throws -> ImageRecord

  /// Every content hash that some image references, for cleaning up unreferenced files.
  func referencedImageHashes() async throws -> Set<String>
}
