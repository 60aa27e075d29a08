import ArgumentParser
import Foundation
import Logging
import StorefrontService

/// `storefront serve`: the server. Its options are listed once more, with how to read each,
/// in ``settings`` (`Serve+Settings.swift`), which the environment, the config file and the
/// start-up log use; `Serve+Validation.swift` checks them, `Serve+Configuration.swift` turns
/// them into the server's configuration, and ``ServerLifecycle`` runs it.
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Serves the catalogue over gRPC (SQLite in the data directory, or PostgreSQL).",
    discussion: """
      Every option can also be set by an environment variable, STOREFRONT_ and the option's \
      name in capitals with underscores (STOREFRONT_DATA_DIR for --data-dir), and by a JSON \
      config file (--config FILE or STOREFRONT_CONFIG): {"port": 50051, "data-dir": "..."}. \
      The command line wins over the environment, which wins over the file.
      """
  )

  @Option(help: "A JSON file of settings, keyed by option name.")
  var config: String?

  @Option(help: "The address to listen on.")
  var host = "127.0.0.1"

  @Option(help: "The port to listen on; 0 picks a free one.")
  var port = 50051

  @Option(help: "Where the database and images live.")
  var dataDir = "storefront-data"

  @Option(
    help: """
      A PostgreSQL database for several replicas to share, \
      postgres://USER@HOST:PORT/DB[?sslmode=disable|prefer|require]; its password from \
      PGPASSWORD or --database-password-file, never the URL. Unset: SQLite in --data-dir.
      """
  )
  var database: String?

  @Option(help: "A file whose first line is the database's password.")
  var databasePasswordFile: String?

  @Option(help: "Fill an empty catalogue with this many deterministic sample products.")
  var demoCatalog = 0

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel: String = "info"

  @Option(help: "Log format: text, or json (one object per line, for log shippers).")
  var logFormat: String = "text"

  @Option(help: "Serve Prometheus metrics over HTTP on this port, at /metrics (0: a free one).")
  var metricsPort: Int?

  @Option(help: "Seconds that in-flight calls get to finish after SIGTERM before they are cut.")
  var shutdownGrace = 10.0

  @Option(
    help: """
      The HTTP/2 server transport: storefront (ours: each call on its connection's event \
      loop; see docs/transport.md) or nio (grpc-swift-nio-transport's, the fallback).
      """
  )
  var transport = TransportImplementation.storefront.rawValue

  @Option(help: "HTTP/2 flow-control window per stream and connection, in bytes.")
  var http2WindowBytes = TransportSettings().windowBytes

  @Option(help: "The largest HTTP/2 frame accepted, in bytes (16384-16777215).")
  var http2MaxFrameBytes = TransportSettings().maxFrameBytes

  @Option(help: "Streams one connection may have open at once.")
  var maxConcurrentStreams = TransportSettings().maxConcurrentStreams

  @Option(help: "Seconds a connection may be quiet before the server pings it.")
  var keepaliveTime = 7_200.0

  @Option(help: "Seconds the server waits for a keepalive ping's answer.")
  var keepaliveTimeout = 20.0

  @Option(help: "Seconds a client must leave between pings while it has calls open.")
  var minClientPingInterval = 1.0

  @Flag(
    help: """
      Accept gzip- and deflate-compressed requests. Off by default: the nio transport leaks \
      about 4 KiB per compressed request (storefront does not).
      """
  )
  var enableCompression = false

  @Option(
    help: """
      The HMAC key that signs access tokens (at least 32 bytes). Default: token.key in the \
      data directory, created (random, mode 0600) when absent; with --database, a key kept \
      in the database, shared by every replica.
      """
  )
  var tokenKeyFile: String?

  @Option(help: "Seconds an access token works.")
  var tokenTtl = 3_600.0

  @Flag(help: "Reading the catalogue (get, list, watch, download) needs a signed-in user too.")
  var requireAuthForReads = false

  @Option(help: "Seconds a user's state is cached: the longest a disabled user's token works.")
  var userCacheTime = 5.0

  @Option(help: "Failed sign-ins per username before each further attempt must wait.")
  var loginFreeFailures = 5

  @Option(help: "Serve over TLS with this certificate chain (PEM); needs --tls-key.")
  var tlsCert: String?

  @Option(help: "The TLS certificate's private key (PEM).")
  var tlsKey: String?

  @Option(help: "Require client certificates signed by this CA (PEM): mutual TLS.")
  var tlsClientCa: String?

  @Option(
    help: """
      Origins whose pages may call the API from a browser (gRPC-Web, Connect), comma-separated \
      (https://shop.example,https://admin.example; * for any). Unset: same-origin only.
      """
  )
  var webOrigin: String?

  @Option(
    help: """
      Serve the web page from this folder instead of the one built into the binary (to edit \
      the page without a rebuild).
      """
  )
  var webRoot: String?

  @Option(help: "Seconds between the store probes of a health Watch.")
  var healthProbeInterval = 1.0

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

  @Option(help: "How many products GetProduct keeps in memory (0: none); writes invalidate them.")
  var productCacheSize = 10_000

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

  /// Starts the server and serves until SIGTERM or SIGINT, then drains.
  func run() async throws {
    let logger = self.bootstrapLogging()
    logger.info("effective settings", metadata: self.effectiveSettings)
    if self.tlsCert == nil, !Self.isLoopback(self.host) {
      let risk = "passwords and tokens cross the network in the clear"
      logger.warning("serving without TLS on \(self.host): \(risk); use --tls-cert and --tls-key")
    }
    var configuration = self.serverConfiguration
    configuration.database = try DatabaseOption.resolve(
      url: self.database,
      passwordFile: self.databasePasswordFile
    )
    let server = try await StorefrontServer(configuration: configuration, logger: logger)
    if let metricsPort = server.metricsPort {
      logger.info(
        "serving metrics",
        metadata: ["url": "http://\(self.host):\(metricsPort)/metrics"]
      )
    }
    let lifecycle = ServerLifecycle(
      server: server,
      grace: Duration(commandLineSeconds: self.shutdownGrace),
      logger: logger
    )
    try await lifecycle.run { port in
      // Written straight to the file descriptor: stdout is block-buffered when it is not a
      // terminal, and scripts wait for this line.
      let data = configuration.database.map { "\($0)" } ?? self.dataDir
      let line = "storefront listening on \(self.host):\(port) (data in \(data))\n"
      FileHandle.standardOutput.write(Data(line.utf8))
    }
  }

  /// Sends every log to standard error, as text or JSON, from ``logLevel`` up.
  private func bootstrapLogging() -> Logger {
    let level = Logger.Level(rawValue: self.logLevel) ?? .info
    let json = self.logFormat == "json"
    LoggingSystem.bootstrap { label in
      var handler: any LogHandler =
        json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
      handler.logLevel = level
      return handler
    }
    return Logger(label: "storefront")
  }
}
