import ArgumentParser
import Foundation
import GRPCCore
import Logging
import ServiceLifecycle
import StorefrontCore
import StorefrontService
import UnixSignals

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serves the catalogue over gRPC (SQLite in the data directory)."
  )

  @Option(help: "The address to listen on.")
  var host = "127.0.0.1"

  @Option(help: "The port to listen on; 0 picks a free one.")
  var port = 50051

  @Option(help: "Where the database and images live.")
  var dataDir = "storefront-data"

  @Option(help: "Fill an empty catalogue with this many deterministic sample products.")
  var demoCatalog = 0

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel: String = "info"

  @Option(help: "The largest request message, in bytes.")
  var maxMessageBytes = 4 * 1024 * 1024

  @Option(help: "The largest image, in bytes.")
  var maxImageBytes: Int64 = 20 * 1024 * 1024

  @Option(help: "How many images one upload may carry.")
  var maxImagesPerUpload = 16

  @Option(help: "Bytes per download chunk when the client does not ask for a size.")
  var downloadChunkBytes = 64 * 1024

  @Option(help: "Products per transaction in ImportProducts.")
  var importBatchSize = 500

  @Option(help: "How many of the newest changes the WatchProducts change log keeps.")
  var changeLogKeep: Int64 = 1_000_000

  @Option(help: "How many seconds the WatchProducts change log keeps a change, at most.")
  var changeLogMaxAge = 7 * 24 * 3600

  @Option(help: "The longest chat message, in characters.")
  var chatMaxText = 2_000

  @Option(help: "How many members one chat room holds.")
  var chatMaxMembers = 10_000

  @Option(help: "Chat messages per second one member may send (steady rate).")
  var chatRate = 5.0

  @Option(help: "Chat messages one member may send in a burst.")
  var chatBurst = 20

  @Option(help: "Messages that may wait for one chat member before it is dropped as too slow.")
  var chatQueue = 256

  func validate() throws {
    guard ProductService.downloadChunkRange.contains(self.downloadChunkBytes) else {
      throw ValidationError("--download-chunk-bytes must be 1024-1048576")
    }
    guard self.importBatchSize >= 1, self.changeLogKeep >= 1, self.changeLogMaxAge >= 1 else {
      throw ValidationError(
        "--import-batch-size, --change-log-keep and --change-log-max-age must be at least 1"
      )
    }
  }

  func run() async throws {
    guard let level = Logger.Level(rawValue: self.logLevel) else {
      throw ValidationError("unknown --log-level '\(self.logLevel)'")
    }
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "storefront")
    let configuration = StorefrontServer.Configuration(
      host: self.host,
      port: self.port,
      dataDirectory: URL(fileURLWithPath: self.dataDir, isDirectory: true),
      demoCatalogSize: self.demoCatalog,
      maxRequestMessageBytes: self.maxMessageBytes,
      service: ProductService.Configuration(
        maxImageBytes: self.maxImageBytes,
        maxImagesPerUpload: self.maxImagesPerUpload,
        downloadChunkBytes: self.downloadChunkBytes,
        importBatchSize: self.importBatchSize
      ),
      chat: ChatLimits(
        maxTextLength: self.chatMaxText,
        maxMembersPerRoom: self.chatMaxMembers,
        outboxCapacity: self.chatQueue,
        messagesPerSecond: self.chatRate,
        burst: self.chatBurst
      ),
      changeRetention: ChangeRetention(
        maxCount: self.changeLogKeep,
        maxAge: .seconds(self.changeLogMaxAge)
      )
    )
    let server = try await StorefrontServer(configuration: configuration, logger: logger)
    let group = ServiceGroup(
      services: [server],
      gracefulShutdownSignals: [.sigterm, .sigint],
      logger: logger
    )
    try await withThrowingDiscardingTaskGroup { tasks in
      tasks.addTask { try await group.run() }
      let port = try await server.listeningPort
      // Written straight to the file descriptor: stdout is block-buffered when it is not a
      // terminal, and scripts wait for this line.
      let line = "storefront listening on \(self.host):\(port) (data in \(self.dataDir))\n"
      FileHandle.standardOutput.write(Data(line.utf8))
    }
  }
}
