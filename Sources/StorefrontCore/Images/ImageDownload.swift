public import Foundation

/// One download: the image's record, then its bytes from an offset in chunks, read from the
/// content store as they are consumed. Iteration stops with `CancellationError` once its task
/// is cancelled. Not `Sendable`: one download belongs to one task.
public final class ImageDownload: AsyncSequence {
  public typealias Element = Data

  /// The image.
  public let record: ImageRecord
  private let reader: any ImageContentReader
  private let offset: Int64
  private let chunkSize: Int

  /// Validates the request, looks the image up and opens its content.
  /// - Parameters:
  ///   - imageID: the image.
  ///   - offset: where to start, for resuming a partial download.
  ///   - chunkSize: bytes per chunk; 0 for the limits' default.
  /// - Throws: ``StorefrontError`` `invalidArgument` (`image_id`, `offset`, `chunk_size`),
  ///   `notFound`, `outOfRange` (an offset past the end).
  public init(
    imageID: String,
    offset: Int64,
    chunkSize: Int,
    images: any ImageStore,
    content: any ImageContentStore,
    limits: ImageLimits
  ) async throws {
    let id = try Identifier.validate(imageID, field: "image_id")
    guard offset >= 0 else {
      throw StorefrontError.invalidArgument(field: "offset", "must not be negative")
    }
    let size = chunkSize == 0 ? limits.downloadChunkBytes : chunkSize
    let range = ImageLimits.downloadChunkRange
    guard range.contains(size) else {
      throw StorefrontError.invalidArgument(
        field: "chunk_size",
        "must be 0 (the server's default) or \(range.lowerBound)-\(range.upperBound) bytes"
      )
    }
    let record = try await images.image(id: id)
    guard offset <= record.sizeBytes else {
      throw StorefrontError(
        code: .outOfRange,
        message: "offset \(offset) is past the end of the image (\(record.sizeBytes) bytes)"
      )
    }
    do {
      self.reader = try await content.open(sha256: record.sha256)
    } catch {
      // Deleted between the look-up and the open: NOT_FOUND, not a fault of the server.
      _ = try await images.image(id: id)
      throw error
    }
    self.record = record
    self.offset = offset
    self.chunkSize = size
  }

  deinit {
    self.reader.close()
  }

  public struct AsyncIterator: AsyncIteratorProtocol {
    let download: ImageDownload
    var offset: Int64

    public mutating func next() async throws -> Data? {
      let size = self.download.record.sizeBytes
      guard self.offset < size else { return nil }
      try Task.checkCancellation()
      let chunk = try await self.download.reader.read(
        at: self.offset,
        count: Int(Swift.min(Int64(self.download.chunkSize), size - self.offset))
      )
      guard !chunk.isEmpty else {
        throw StorefrontError(
          code: .internalError,
          message: "image \(self.download.record.id) is shorter than its record says"
        )
      }
      self.offset += Int64(chunk.count)
      return chunk
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(download: self, offset: self.offset)
  }
}
