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
        maxImagesPerUpload: self.maxImagesPerUpload
      ),
      chat: ChatLimits(
        maxTextLength: self.chatMaxText,
        maxMembersPerRoom: self.chatMaxMembers,
        outboxCapacity: self.chatQueue,
        messagesPerSecond: self.chatRate,
        burst: self.chatBurst
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
