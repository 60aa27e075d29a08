import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf
import Synchronization

/// `storefront image download ID -o FILE`: DownloadProductImage, resuming a partial file.
struct ImageDownloadCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "download",
    abstract: "Downloads an image, resuming a partial file, and checks its SHA-256 at the end."
  )

  @Argument(help: "The image's id.")
  var imageID: String

  @Option(name: [.short, .customLong("output")], help: "The file to write.")
  var output: String

  @Option(help: "Bytes per chunk (1024-1048576); the server's default when absent.")
  var chunkSize: Int32 = 0

  @Flag(help: "Start over instead of resuming a partial file.")
  var restart = false

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    let progress = Mutex<ProgressBar?>(nil)
    let downloaded: DownloadedImage
    do {
      downloaded = try await self.options.withClient { client in
        try await client.downloadImage(
          id: self.imageID,
          to: URL(fileURLWithPath: self.output),
          restart: self.restart,
          chunkSize: self.chunkSize
        ) { done, total in
          progress.withLock { bar in
            if bar == nil { bar = ProgressBar(total: total, done: done) }
            bar?.set(done: done)
          }
        }
      }
    } catch let failure as CallFailure where failure.error.code == .outOfRange {
      throw CommandFailure(
        "\(self.output) is longer than the image (\(failure.error.message)); run again with "
          + "--restart"
      )
    } catch let error as StorefrontClientError where error.code == .dataLoss {
      throw CommandFailure("\(error.message); download it again with --restart")
    }
    progress.withLock { $0?.finish() }
    let image = downloaded.image
    try self.options.print(image) {
      "\(self.output)  \(image.sizeBytes) bytes  \(image.contentType)  sha256 \(image.sha256)"
        + (downloaded.resumedAt > 0 ? "  (resumed at byte \(downloaded.resumedAt))" : "")
    }
  }
}
