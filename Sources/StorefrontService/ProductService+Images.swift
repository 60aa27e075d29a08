import GRPCCore
import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// One image of an upload stream: what the client said, and the bytes received so far.
  private struct PendingImage {
    var record: ImageRecord
    var format: ImageFormat
    var expectedSHA256: String?
    let staged: StagedImage
    /// Whether the leading bytes have been checked against `format`.
    var formatChecked = false
  }

  /// UploadProductImages: each image goes to a temporary file, hashed as it arrives; when the
  /// stream ends well, the files move into place under their hashes and every image is
  /// attached to its product in one transaction. On any error or cancellation before that
  /// step nothing is recorded and the temporary files are deleted; the step itself runs to
  /// its end, all or nothing.
  ///
  /// Errors: INVALID_ARGUMENT (order, type, checksum, empty), NOT_FOUND (product),
  /// RESOURCE_EXHAUSTED (size or count), CANCELLED.
  func uploadProductImages(
    _ request: RPCAsyncSequence<Storefront_V1_ImageRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_UploadResponse {
    var finished: [PendingImage] = []
    var current: PendingImage?
    defer {
      current?.staged.discard()
      for image in finished { image.staged.discard() }
    }
    for try await message in request {
      try context.checkNotCancelled(unlessDraining: self.drain)
      switch message.data {
      case .metadata(let metadata):
        if let done = current {
          finished.append(try Self.verify(done))
          current = nil
        }
        guard finished.count < self.configuration.maxImagesPerUpload else {
          throw StorefrontError(
            code: .resourceExhausted,
            message: "an upload carries at most \(self.configuration.maxImagesPerUpload) images"
          )
        }
        current = try await self.startImage(metadata)
      case .chunk(let bytes):
        guard var image = current else {
          throw StorefrontError.invalidArgument(
            field: "chunk",
            "a chunk must follow the metadata of its image"
          )
        }
        try image.staged.append(bytes)
        if !image.formatChecked, image.staged.sizeBytes >= ImageFormat.sniffLength {
          try Self.checkFormat(of: image)
          image.formatChecked = true
        }
        current = image
      case nil:
        throw StorefrontError.invalidArgument(field: "data", "set either metadata or chunk")
      }
    }
    if let done = current {
      finished.append(try Self.verify(done))
      current = nil
    }
    guard !finished.isEmpty else {
      throw StorefrontError.invalidArgument(field: "metadata", "the stream carried no image")
    }
    try context.checkNotCancelled(unlessDraining: self.drain)
    let uploads = try finished.map { try self.blobs.finish($0.staged) }
    let records = finished.map(\.record)
    let images = self.images
    // From here on the upload completes even if the client goes away now: the files and
    // their records land together or not at all.
    _ = try await self.blobs.place(uploads) { try await images.attach(records) }
    return Storefront_V1_UploadResponse.with {
      $0.images = records.map(Storefront_V1_UploadedImage.init)
      $0.totalBytes = records.reduce(0) { $0 + $1.sizeBytes }
    }
  }

  /// Validates an image's metadata, checks its product exists and opens its temporary file.
  private func startImage(_ metadata: Storefront_V1_ImageMetadata) async throws -> PendingImage {
    let productID = try Self.requireID(metadata.productID, field: "metadata.product_id")
    guard let format = ImageFormat(contentType: metadata.contentType) else {
      throw StorefrontError.invalidArgument(
        field: "metadata.content_type",
        "must be one of " + ImageFormat.allCases.map(\.rawValue).joined(separator: ", ")
      )
    }
    guard metadata.filename.utf8.count <= 255,
      !metadata.filename.unicodeScalars.contains(where: {
        $0.properties.generalCategory == .control
      })
    else {
      throw StorefrontError.invalidArgument(
        field: "metadata.filename",
        "must be at most 255 bytes without control characters"
      )
    }
    let expected = metadata.sha256.lowercased()
    guard expected.isEmpty || Self.isSHA256Hex(expected) else {
      throw StorefrontError.invalidArgument(
        field: "metadata.sha256",
        "must be 64 hexadecimal characters"
      )
    }
    _ = try await self.products.product(id: productID)
    return PendingImage(
      record: ImageRecord(
        id: Identifier.make(prefix: "img"),
        productID: productID,
        filename: metadata.filename,
        contentType: format.rawValue,
        sizeBytes: 0,
        sha256: ""
      ),
      format: format,
      expectedSHA256: expected.isEmpty ? nil : expected,
      staged: try self.blobs.stage(maxBytes: self.configuration.maxImageBytes)
    )
  }

  /// Finishes an image: checks its type and checksum and fills in size and hash.
  private static func verify(_ image: PendingImage) throws -> PendingImage {
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
    var verified = image
    verified.record.sizeBytes = digest.sizeBytes
    verified.record.sha256 = digest.sha256
    return verified
  }

  private static func checkFormat(of image: PendingImage) throws(StorefrontError) {
    guard image.staged.sniffedFormat == image.format else {
      throw StorefrontError.invalidArgument(
        field: "metadata.content_type",
        "the content of '\(image.record.filename)' is not \(image.format.rawValue)"
      )
    }
  }

  private static func isSHA256Hex(_ text: String) -> Bool {
    text.utf8.count == 64
      && text.utf8.allSatisfy { (48 ... 57).contains($0) || (97 ... 102).contains($0) }
  }
}
