import ArgumentParser
import Foundation
import StorefrontAPI
import SwiftProtobuf

/// One file to upload: its type from its name, its hash from a first read.
struct UploadFile: Sendable {
  /// The file as the user named it.
  let path: String
  /// Its size in bytes.
  let size: Int64
  /// Its SHA-256, lower-case hex, sent for the server to check.
  let sha256: String
  /// Its type, from its name: the server checks its leading bytes against it.
  let contentType: String

  /// Reads the file once, for its size and hash.
  /// - Throws: `ValidationError` for a name of no known image type; ``CommandFailure``
  ///   for a file that does not exist or cannot be read.
  init(path: String) throws {
    self.path = path
    self.contentType = try Self.contentType(of: path)
    let digest = try FileDigest(path: path)
    self.size = digest.size
    self.sha256 = digest.sha256
  }

  /// The content type a file's name says it has.
  /// - Throws: `ValidationError` for a name that is not a PNG, JPEG, WebP or GIF file's.
  static func contentType(of path: String) throws -> String {
    let types = [
      "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
      "webp": "image/webp", "gif": "image/gif",
    ]
    let suffix = URL(fileURLWithPath: path).pathExtension.lowercased()
    guard let type = types[suffix] else {
      throw ValidationError("\(path): not a .png, .jpg, .jpeg, .webp or .gif file")
    }
    return type
  }

  /// The metadata message that starts this file's upload.
  func metadata(productID: String) -> Storefront_V1_ImageMetadata {
    .with {
      $0.productID = productID
      $0.filename = URL(fileURLWithPath: self.path).lastPathComponent
      $0.contentType = self.contentType
      $0.sha256 = self.sha256
    }
  }

  /// Reads the file again, a chunk at a time; never whole.
  func forEachChunk(of size: Int, _ body: (Data) async throws -> Void) async throws {
    let handle = try InputFile.open(self.path)
    defer { try? handle.close() }
    while let data = try handle.read(upToCount: size), !data.isEmpty {
      try await body(data)
    }
  }
}
