import Crypto
public import Foundation
import GRPCCore
public import StorefrontAPI
import SwiftProtobuf

/// An image file to upload: its type from its name (or given), its size and SHA-256 from a
/// first read, so the server can check what arrives.
public struct ImageFile: Sendable, Hashable {
  /// The file.
  public let url: URL
  /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`: the server checks the file's
  /// leading bytes against it.
  public let contentType: String
  /// Its size in bytes.
  public let size: Int64
  /// Its SHA-256 in lower-case hex.
  public let sha256: String

  /// The content types of the file name extensions the server takes.
  public static let contentTypes = [
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "webp": "image/webp", "gif": "image/gif",
  ]

  /// Reads the file once for its size and hash.
  /// - Parameter contentType: its type; nil to take it from the name's extension.
  /// - Throws: ``StorefrontClientError`` `INVALID_ARGUMENT` for a file of no known type,
  ///   one that does not exist or cannot be read.
  public init(url: URL, contentType: String? = nil) throws {
    self.url = url
    self.contentType = try contentType ?? Self.contentType(of: url)
    let digest = try FileDigest(url: url)
    self.size = digest.size
    self.sha256 = digest.sha256
  }

  /// The content type a file's name says it has.
  /// - Throws: ``StorefrontClientError`` `INVALID_ARGUMENT` for a name that is not a PNG,
  ///   JPEG, WebP or GIF file's.
  public static func contentType(of url: URL) throws -> String {
    guard let type = Self.contentTypes[url.pathExtension.lowercased()] else {
      throw StorefrontClientError(
        code: .invalidArgument,
        message: "\(url.path): not a .png, .jpg, .jpeg, .webp or .gif file"
      )
    }
    return type
  }

  /// The metadata message that starts this file's upload.
  func metadata(productID: String) -> Storefront_V1_ImageMetadata {
    .with {
      $0.productID = productID
      $0.filename = self.url.lastPathComponent
      $0.contentType = self.contentType
      $0.sha256 = self.sha256
    }
  }
}

/// The SHA-256 and size of a file, read a megabyte at a time.
public struct FileDigest: Sendable {
  /// The hash in lower-case hex.
  public let sha256: String
  /// The size in bytes.
  public let size: Int64

  /// Reads the file once.
  /// - Throws: ``StorefrontClientError`` `INVALID_ARGUMENT` when it does not exist or
  ///   cannot be read.
  public init(url: URL) throws {
    let handle = try FileDigest.open(url)
    defer { try? handle.close() }
    var hasher = SHA256()
    var size: Int64 = 0
    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
      hasher.update(data: data)
      size += Int64(data.count)
    }
    self.size = size
    self.sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }

  /// A handle to read the file at `url`.
  /// - Throws: ``StorefrontClientError`` `INVALID_ARGUMENT` saying the file does not exist,
  ///   is a folder, or cannot be read (permissions).
  public static func open(_ url: URL) throws -> FileHandle {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw StorefrontClientError(code: .invalidArgument, message: "\(path) does not exist")
    }
    guard !isDirectory.boolValue else {
      throw StorefrontClientError(
        code: .invalidArgument,
        message: "\(path) is a folder, not a file"
      )
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw StorefrontClientError(
        code: .invalidArgument,
        message: "\(path) cannot be read (check its permissions)"
      )
    }
    return handle
  }
}

/// A downloaded image: its metadata, and where the download started.
public struct DownloadedImage: Sendable {
  /// The image as the server describes it; the file's SHA-256 was checked against it.
  public var image: Storefront_V1_UploadedImage
  /// The byte the download resumed at (0: from the start).
  public var resumedAt: Int64
}

extension StorefrontClient {
  /// Uploads `files` to a product in one stream, `chunkSize` bytes a message, reading each
  /// file a chunk at a time (never whole). All or nothing: if any file is refused, none is
  /// attached.
  /// - Parameter progress: called with the bytes sent so far and the bytes of all files.
  public func uploadImages(
    _ files: [ImageFile],
    to productID: String,
    chunkSize: Int = 64 * 1024,
    progress: @escaping @Sendable (_ sent: Int64, _ total: Int64) -> Void = { _, _ in }
  ) async throws -> Storefront_V1_UploadResponse {
    let total = files.reduce(0) { $0 + $1.size }
    let chunkSize = max(1, chunkSize)
    return try await self.call {
      try await self.products.uploadProductImages { writer in
        var sent: Int64 = 0
        for file in files {
          try await writer.write(.with { $0.metadata = file.metadata(productID: productID) })
          let handle = try FileDigest.open(file.url)
          defer { try? handle.close() }
          while let data = try handle.read(upToCount: chunkSize), !data.isEmpty {
            try await writer.write(.with { $0.chunk = data })
            sent += Int64(data.count)
            progress(sent, total)
          }
        }
      }
    }
  }

  /// Downloads an image into the file at `url`, resuming a partial file unless `restart`,
  /// and checks the whole file's SHA-256 at the end.
  /// - Parameters:
  ///   - chunkSize: bytes per message (1 KiB-1 MiB); 0 for the server's default.
  ///   - progress: called with the file's bytes so far and the image's size.
  /// - Throws: ``StorefrontClientError``: `OUT_OF_RANGE` when the partial file is longer than
  ///   the image, `DATA_LOSS` when the file's hash is not the image's (start again with
  ///   `restart`), `INVALID_ARGUMENT` when the file cannot be written.
  public func downloadImage(
    id: String,
    to url: URL,
    restart: Bool = false,
    chunkSize: Int32 = 0,
    progress: @escaping @Sendable (_ done: Int64, _ total: Int64) -> Void = { _, _ in }
  ) async throws -> DownloadedImage {
    let manager = FileManager.default
    let created = restart || !manager.fileExists(atPath: url.path)
    if created {
      guard manager.createFile(atPath: url.path, contents: nil) else {
        throw StorefrontClientError(
          code: .invalidArgument,
          message: "\(url.path): cannot be created"
        )
      }
    }
    guard let file = FileHandle(forUpdatingAtPath: url.path) else {
      throw StorefrontClientError(
        code: .invalidArgument,
        message: "\(url.path): cannot be opened for writing"
      )
    }
    defer { try? file.close() }
    let offset = Int64(try file.seekToEnd())
    let request = Storefront_V1_DownloadProductImageRequest.with {
      $0.imageID = id
      $0.offset = offset
      $0.chunkSize = chunkSize
    }
    let image: Storefront_V1_UploadedImage?
    do {
      image = try await self.call {
        try await self.products.downloadProductImage(request) { response in
          var image: Storefront_V1_UploadedImage?
          var done = offset
          for try await message in response.messages {
            switch message.data {
            case .metadata(let value):
              image = value
              progress(done, value.sizeBytes)
            case .chunk(let chunk):
              try file.write(contentsOf: chunk)
              done += Int64(chunk.count)
              progress(done, image?.sizeBytes ?? done)
            case nil:
              continue
            }
          }
          return image
        }
      }
    } catch {
      // A file this call created and never wrote to is not left behind.
      if created, file.offsetInFile == 0 {
        try? manager.removeItem(at: url)
      }
      throw error
    }
    guard let image else {
      throw StorefrontClientError(code: .dataLoss, message: "the server sent no metadata")
    }
    try file.synchronize()
    let sha256 = try FileDigest(url: url).sha256
    guard sha256 == image.sha256 else {
      throw StorefrontClientError(
        code: .dataLoss,
        message: "\(url.path): SHA-256 \(sha256) is not the image's \(image.sha256)"
      )
    }
    return DownloadedImage(image: image, resumedAt: offset)
  }
}
