import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// The chunk sizes a client (or the server's default) may use.
  public static let downloadChunkRange = 1_024 ... 1_048_576

  /// DownloadProductImage: the image's metadata, then its bytes from `offset` in chunks,
  /// read from the file as they are sent.
  /// Errors: INVALID_ARGUMENT, NOT_FOUND, OUT_OF_RANGE, CANCELLED.
  func downloadProductImage(
    _ request: Storefront_V1_DownloadProductImageRequest,
    into response: RPCWriter<Storefront_V1_DownloadProductImageResponse>
  ) async throws {
    let id = try Self.requireID(request.imageID, field: "image_id")
    guard request.offset >= 0 else {
      throw StorefrontError.invalidArgument(field: "offset", "must not be negative")
    }
    let chunkSize =
      request.chunkSize == 0 ? self.configuration.downloadChunkBytes : Int(request.chunkSize)
    guard Self.downloadChunkRange.contains(chunkSize) else {
      throw StorefrontError.invalidArgument(
        field: "chunk_size",
        "must be 0 (the server's default) or \(Self.downloadChunkRange.lowerBound)-"
          + "\(Self.downloadChunkRange.upperBound) bytes"
      )
    }
    let record = try await self.images.image(id: id)
    guard request.offset <= record.sizeBytes else {
      throw StorefrontError(
        code: .outOfRange,
        message: "offset \(request.offset) is past the end of the image (\(record.sizeBytes) bytes)"
      )
    }
    let file: ImageBlobReader
    do {
      file = try self.blobs.open(sha256: record.sha256)
    } catch {
      // Deleted between the lookup and the open: NOT_FOUND, not a fault of the server.
      _ = try await self.images.image(id: id)
      throw error
    }
    defer { file.close() }
    try await response.write(.with { $0.metadata = Storefront_V1_UploadedImage(record) })
    var offset = request.offset
    while offset < record.sizeBytes {
      try Task.checkCancellation()
      let chunk = try file.read(
        at: offset,
        count: Int(min(Int64(chunkSize), record.sizeBytes - offset))
      )
      guard !chunk.isEmpty else {
        throw StorefrontError(
          code: .internalError,
          message: "image \(id) is shorter on disk than its record says"
        )
      }
      try await response.write(.with { $0.chunk = chunk })
      offset += Int64(chunk.count)
    }
  }
}
