public import GRPCCore
public import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// Uploads images, several per stream: each image's metadata, then its chunks. Nothing is
  /// recorded unless the whole stream succeeds.
  /// Errors: INVALID_ARGUMENT (order, type, checksum, empty), NOT_FOUND (product),
  /// RESOURCE_EXHAUSTED (size or count), CANCELLED.
  public func uploadProductImages(
    request: RPCAsyncSequence<Storefront_V1_ImageRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_UploadResponse {
    let records = try await context.cancellingWithRPC(unlessDraining: self.drain) {
      let upload = ImageUpload(
        products: self.products,
        images: self.images,
        content: self.content,
        limits: self.configuration.images
      )
      for try await message in request {
        switch message.data {
        case .metadata(let metadata):
          try await upload.begin(ImageMetadata(metadata))
        case .chunk(let bytes):
          try upload.append(bytes)
        case nil:
          throw StorefrontError.invalidArgument(field: "data", "set either metadata or chunk")
        }
      }
      return try await upload.finish()
    }
    return Storefront_V1_UploadResponse.with {
      $0.images = records.map(Storefront_V1_UploadedImage.init)
      $0.totalBytes = records.reduce(0) { $0 + $1.sizeBytes }
    }
  }

  /// Streams an image from `offset`: its metadata, then its bytes in chunks.
  /// Errors: INVALID_ARGUMENT, NOT_FOUND, OUT_OF_RANGE, CANCELLED.
  public func downloadProductImage(
    request: Storefront_V1_DownloadProductImageRequest,
    response: RPCWriter<Storefront_V1_DownloadProductImageResponse>,
    context: ServerContext
  ) async throws {
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      let download = try await ImageDownload(
        imageID: request.imageID,
        offset: request.offset,
        chunkSize: Int(request.chunkSize),
        images: self.images,
        content: self.content,
        limits: self.configuration.images
      )
      try await response.write(.with { $0.metadata = Storefront_V1_UploadedImage(download.record) })
      for try await chunk in download {
        try await response.write(.with { $0.chunk = chunk })
      }
    }
  }
}

extension ImageMetadata {
  /// The domain form of an upload's metadata.
  init(_ metadata: Storefront_V1_ImageMetadata) {
    self.init(
      productID: metadata.productID,
      filename: metadata.filename,
      contentType: metadata.contentType,
      sha256: metadata.sha256
    )
  }
}
