import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

/// `storefront image upload ID FILE...`: UploadProductImages, one stream for all files.
struct ImageUploadCommand: AsyncParsableCommand, ClientCommand {
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

  /// Refuses files whose type cannot be told from their name, before anything is read.
  func validate() throws {
    for file in self.files {
      _ = try UploadFile.contentType(of: file)
    }
  }

  /// Runs the call and prints what it answers.
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
