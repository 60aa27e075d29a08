import ArgumentParser
import Foundation
import StorefrontAPI
import StorefrontClient
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
      do {
        _ = try ImageFile.contentType(of: URL(fileURLWithPath: file))
      } catch let error as StorefrontClientError {
        throw ValidationError(error.message)
      }
    }
  }

  /// Runs the call and prints what it answers.
  func run() async throws {
    let uploads = try self.files.map { try ImageFile(url: URL(fileURLWithPath: $0)) }
    let progress = ProgressBar(total: uploads.reduce(0) { $0 + $1.size })
    let response = try await self.options.withClient { client in
      try await client.uploadImages(uploads, to: self.productID, chunkSize: self.chunkSize) {
        sent,
        _ in progress.set(done: sent)
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
