import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

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
    let manager = FileManager.default
    let created = self.restart || !manager.fileExists(atPath: self.output)
    if created {
      guard manager.createFile(atPath: self.output, contents: nil) else {
        throw CommandFailure("\(self.output): cannot be created")
      }
    }
    guard let file = FileHandle(forUpdatingAtPath: self.output) else {
      throw CommandFailure("\(self.output): cannot be opened for writing")
    }
    defer { try? file.close() }
    let offset = Int64(try file.seekToEnd())
    let request = Storefront_V1_DownloadProductImageRequest.with {
      $0.imageID = self.imageID
      $0.offset = offset
      $0.chunkSize = self.chunkSize
    }
    let metadata: Storefront_V1_UploadedImage?
    do {
      metadata = try await self.download(request, into: file, from: offset)
    } catch {
      // A file this command created and never wrote to is not left behind.
      if created, file.offsetInFile == 0 {
        try? manager.removeItem(atPath: self.output)
      }
      throw error
    }
    guard let metadata else {
      throw CommandFailure("the server sent no metadata")
    }
    try file.synchronize()
    let sha256 = try FileDigest(path: self.output).sha256
    guard sha256 == metadata.sha256 else {
      throw CommandFailure(
        "\(self.output): SHA-256 \(sha256) is not the image's \(metadata.sha256); "
          + "download it again with --restart"
      )
    }
    try self.options.print(metadata) {
      "\(self.output)  \(metadata.sizeBytes) bytes  \(metadata.contentType)  sha256 \(sha256)"
        + (offset > 0 ? "  (resumed at byte \(offset))" : "")
    }
  }

  /// Streams the image into `file` from `offset`; returns its metadata.
  private func download(
    _ request: Storefront_V1_DownloadProductImageRequest,
    into file: FileHandle,
    from offset: Int64
  ) async throws -> Storefront_V1_UploadedImage? {
    do {
      return try await self.options.withClient { client in
        try await client.downloadProductImage(request) { response in
          var metadata: Storefront_V1_UploadedImage?
          var progress: ProgressBar?
          for try await message in response.messages {
            switch message.data {
            case .metadata(let value):
              metadata = value
              progress = ProgressBar(total: value.sizeBytes, done: offset)
            case .chunk(let chunk):
              try file.write(contentsOf: chunk)
              progress?.advance(by: Int64(chunk.count))
            case nil:
              continue
            }
          }
          progress?.finish()
          return metadata
        }
      }
    } catch let error as RPCError where error.code == .outOfRange {
      throw CommandFailure(
        "\(self.output) is longer than the image (\(error.message)); run again with --restart"
      )
    }
  }
}
