/// One upload stream: images arrive as their metadata, then their bytes in chunks, then the
/// next image's metadata, and so on. Each image goes to a temporary file, hashed as it
/// arrives; ``finish()`` checks the last one, stores every image's content and attaches every
/// image to its product in one step. Until then nothing is recorded, and an upload that
/// stops early (an error, cancellation, the client gone) deletes its temporary files when it
/// is dropped; the final step itself runs to its end, all or nothing.
///
/// Field violations name the fields of the upload stream's messages (`metadata.product_id`,
/// `chunk`). Not `Sendable`: one upload belongs to one task.
public final class ImageUpload {
  /// One image of the stream: what the client said, and the bytes received so far.
  private struct Pending {
    var record: ImageRecord
    var format: ImageFormat
    var expectedSHA256: String?
    let staged: StagedImage
    /// Whether the leading bytes have been checked against `format`.
    var formatChecked = false
  }

  private let products: any ProductStore
  private let images: any ImageStore
  private let content: any ImageContentStore
  private let limits: ImageLimits
  private var finished: [Pending] = []
  private var current: Pending?

  /// - Parameters:
  ///   - products: where the images' products are looked up.
  ///   - images: where image records go.
  ///   - content: where image bytes go.
  ///   - limits: sizes and counts.
  public init(
    products: any ProductStore,
    images: any ImageStore,
    content: any ImageContentStore,
    limits: ImageLimits
  ) {
    self.products = products
    self.images = images
    self.content = content
    self.limits = limits
  }

  deinit {
    self.current?.staged.discard()
    for image in self.finished { image.staged.discard() }
  }

  /// Starts the next image, finishing the one before.
  /// - Throws: ``StorefrontError`` `invalidArgument` (bad metadata, or a bad previous image),
  ///   `notFound` (the product), `resourceExhausted` (too many images).
  public func begin(_ metadata: ImageMetadata) async throws {
    try self.finishCurrent()
    guard self.finished.count < self.limits.maxImagesPerUpload else {
      throw StorefrontError(
        code: .resourceExhausted,
        message: "an upload carries at most \(self.limits.maxImagesPerUpload) images"
      )
    }
    let format = try metadata.validate()
    _ = try await self.products.product(id: metadata.productID)
    self.current = Pending(
      record: ImageRecord(
        id: Identifier.make(prefix: "img"),
        productID: metadata.productID,
        filename: metadata.filename,
        contentType: format.rawValue,
        sizeBytes: 0,
        sha256: ""
      ),
      format: format,
      expectedSHA256: metadata.sha256.isEmpty ? nil : metadata.sha256.lowercased(),
      staged: try self.content.stage(maxBytes: self.limits.maxImageBytes)
    )
  }

  /// Appends bytes to the current image, checking its type once its leading bytes are in.
  /// - Throws: ``StorefrontError`` `invalidArgument` (no image begun, content of the wrong
  ///   type), `resourceExhausted` (too large, disk full), `unavailable`.
  public func append(_ chunk: some Collection<UInt8>) throws(StorefrontError) {
    guard var image = self.current else {
      throw StorefrontError.invalidArgument(
        field: "chunk",
        "a chunk must follow the metadata of its image"
      )
    }
    try image.staged.append(chunk)
    if !image.formatChecked, image.staged.sizeBytes >= ImageFormat.sniffLength {
      try Self.checkFormat(of: image)
      image.formatChecked = true
    }
    self.current = image
  }

  /// Finishes the last image, stores every image's content and attaches the images to their
  /// products in one step, which runs to its end even if the calling task is cancelled.
  /// - Returns: the stored images, in the order they were sent.
  /// - Throws: ``StorefrontError`` `invalidArgument` (no image, a bad last image),
  ///   `notFound` (a product deleted meanwhile), store errors, `CancellationError` before the
  ///   final step.
  public func finish() async throws -> [ImageRecord] {
    try self.finishCurrent()
    guard !self.finished.isEmpty else {
      throw StorefrontError.invalidArgument(field: "metadata", "the stream carried no image")
    }
    try Task.checkCancellation()
    let uploads = try self.finished.map { try self.content.finish($0.staged) }
    let records = self.finished.map(\.record)
    let images = self.images
    _ = try await self.content.place(uploads) { try await images.attach(records) }
    return records
  }

  /// Checks the current image's type and checksum and fills in its size and hash.
  private func finishCurrent() throws {
    guard let image = self.current else { return }
    self.current = nil
    // From here on the upload owns the file, and deletes it when dropped, whatever happens.
    self.finished.append(image)
    guard image.staged.sizeBytes > 0 else {
      throw StorefrontError.invalidArgument(
        field: "chunk",
        "image '\(image.record.filename)' is empty"
      )
    }
    try Self.checkFormat(of: image)
    let digest = try image.staged.digest()
    if let expected = image.expectedSHA256, expected != digest.sha256 {
      throw StorefrontError.invalidArgument(
        field: "metadata.sha256",
        "checksum mismatch for '\(image.record.filename)': the content's SHA-256 is \(digest.sha256)"
      )
    }
    self.finished[self.finished.count - 1].record.sizeBytes = digest.sizeBytes
    self.finished[self.finished.count - 1].record.sha256 = digest.sha256
  }

  private static func checkFormat(of image: Pending) throws(StorefrontError) {
    guard image.staged.sniffedFormat == image.format else {
      throw StorefrontError.invalidArgument(
        field: "metadata.content_type",
        "the content of '\(image.record.filename)' is not \(image.format.rawValue)"
      )
    }
  }
}
