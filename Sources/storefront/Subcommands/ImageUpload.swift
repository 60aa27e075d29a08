import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

struct ImageUpload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "upload",
    abstract: "Uploads image files to a product in one stream, with a progress bar on a terminal."
  )

  @Argument(help: "The product's id.")
  var productID: String

  @Argument(help: "PNG, JPEG, WebP or GIF files.")
  var files: [String]

  @Option(help: "Bytes per chunk.")
  var chunkSize = 64 * 1024

  @OptionGroup var options: ClientOptions

  func run() async throws {
    let uploads = try self.files.map(UploadFile.init(path:))
    let progress = ProgressBar(total: uploads.reduce(0) { $0 + $1.size })
    let chunkSize = max(1, self.chunkSize)
    let productID = self.productID
    let response = try await self.options.withClient { client in
      try await client.uploadProductImages { writer in
        for upload in uploads {
          try await writer.write(.with { $0.metadata = upload.metadata(productID: productID) })
          try await upload.forEachChunk(of: chunkSize) { chunk in
            try await writer.write(.with { $0.chunk = chunk })
            progress.advance(by: Int64(chunk.count))
          }
        }
      }
    }
    progress.finish()
    try self.options.print(response) {
      response.images.map {
        "\($0.imageID)  \($0.filename)  \($0.sizeBytes) bytes  sha256 \($0.sha256)"
      }.joined(separator: "\n") + "\n\(response.totalBytes) bytes uploaded"
    }
  }
}

/// One file to upload: its type from its name, its hash from a first read.
struct UploadFile: Sendable {
  let path: String
  let size: Int64
  let sha256: String
  let contentType: String

  init(path: String) throws {
    self.path = path
    let types = [
      "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
      "webp": "image/webp", "gif": "image/gif",
    ]
    let suffix = URL(fileURLWithPath: path).pathExtension.lowercased()
    guard let type = types[suffix] else {
      throw ValidationError("\(path): not a .png, .jpg, .jpeg, .webp or .gif file")
    }
    self.contentType = type
    let digest = try FileDigest(path: path)
    self.size = digest.size
    self.sha256 = digest.sha256
  }

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
    guard let handle = FileHandle(forReadingAtPath: self.path) else {
      throw CommandFailure("\(self.path): cannot be read")
    }
    defer { try? handle.close() }
    while let data = try handle.read(upToCount: size), !data.isEmpty {
      try await body(data)
    }
  }
}
