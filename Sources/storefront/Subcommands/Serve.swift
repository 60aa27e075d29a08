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
    abstract: "Serves the catalogue over gRPC (SQLite in the data directory).",
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
      The HTTP/2 server transport: nio (grpc-swift-nio-transport's) or storefront (ours: \
      each call on its connection's event loop; see docs/transport.md).
      """
  )
  var transport = TransportImplementation.nio.rawValue

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
      Accept gzip- and deflate-compressed requests. Off by default: the transport leaks about \
      4 KiB per compressed request.
      """
  )
  var enableCompression = false

  @Option(
    help: """
      The HMAC key that signs access tokens (at least 32 bytes). Default: token.key in the \
      data directory, created (random, mode 0600) when absent.
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

  func validate() throws {
    guard ["text", "json"].contains(self.logFormat) else {
      throw ValidationError("--log-format is text or json")
    }
    guard TransportImplementation(rawValue: self.transport) != nil else {
      throw ValidationError("--transport is storefront or nio")
    }
    guard (16_384 ... 16_777_215).contains(self.http2MaxFrameBytes) else {
      throw ValidationError("--http2-max-frame-bytes must be 16384-16777215")
    }
    guard (65_535 ... Int(Int32.max)).contains(self.http2WindowBytes) else {
      throw ValidationError("--http2-window-bytes must be 65535-2147483647")
    }
    let day = 86_400.0
    guard (0 ... day).contains(self.shutdownGrace), self.keepaliveTime > 0,
      self.keepaliveTime <= day, self.keepaliveTimeout > 0, self.keepaliveTimeout <= day,
      self.healthProbeInterval > 0, self.healthProbeInterval <= day,
      self.minClientPingInterval > 0, self.minClientPingInterval <= day,
      self.maxConcurrentStreams >= 1, self.productCacheSize >= 0
    else {
      throw ValidationError(
        "--shutdown-grace must be 0-86400 s; keepalive and probe times above 0 and at most a "
          + "day; --max-concurrent-streams at least 1; --product-cache-size not negative"
      )
    }
    guard (self.tlsCert == nil) == (self.tlsKey == nil),
      self.tlsClientCa == nil || self.tlsCert != nil
    else {
      throw ValidationError("--tls-cert and --tls-key go together; --tls-client-ca needs both")
    }
    guard (1 ... 366 * day).contains(self.tokenTtl), (0 ... 3_600).contains(self.userCacheTime),
      self.loginFreeFailures >= 1
    else {
      throw ValidationError(
        "--token-ttl must be 1 s to a year, --user-cache-time 0-3600 s, "
          + "--login-free-failures at least 1"
      )
    }
    guard ProductService.downloadChunkRange.contains(self.downloadChunkBytes) else {
      throw ValidationError("--download-chunk-bytes must be 1024-1048576")
    }
    guard self.importBatchSize >= 1, self.changeLogKeep >= 1,
      (1 ... 100 * 365 * 86_400).contains(self.changeLogMaxAge)
    else {
      throw ValidationError(
        "--import-batch-size and --change-log-keep must be at least 1; --change-log-max-age "
          + "1 s to 100 years"
      )
    }
  }

  func run() async throws {
    guard let level = Logger.Level(rawValue: self.logLevel) else {
      throw ValidationError("unknown --log-level '\(self.logLevel)'")
    }
    let json = self.logFormat == "json"
    LoggingSystem.bootstrap { label in
      var handler: any LogHandler =
        json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
      handler.logLevel = level
      return handler
    }
    let logger = Logger(label: "storefront")
    self.logEffectiveSettings(to: logger)
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
      ),
      productCacheCapacity: self.productCacheSize,
      transport: TransportSettings(
        implementation: TransportImplementation(rawValue: self.transport) ?? .nio,
        windowBytes: self.http2WindowBytes,
        maxFrameBytes: self.http2MaxFrameBytes,
        maxConcurrentStreams: self.maxConcurrentStreams,
        keepaliveTime: Duration(commandLineSeconds: self.keepaliveTime),
        keepaliveTimeout: Duration(commandLineSeconds: self.keepaliveTimeout),
        compression: self.enableCompression,
        minClientPingInterval: Duration(commandLineSeconds: self.minClientPingInterval),
        // Connections still open when the grace period ends are closed: grpc-swift-nio-transport
        // can leave a stream opened in the instant of shutdown without an answer, and that
        // stream would otherwise hold its connection, and the server, open.
        maxGraceTime: Duration(commandLineSeconds: self.shutdownGrace)
      ),
      metricsPort: self.metricsPort,
      healthProbeInterval: Duration(commandLineSeconds: self.healthProbeInterval),
      auth: AuthSettings(
        tokenKeyFile: self.tokenKeyFile.map { URL(fileURLWithPath: $0) },
        tokenLifetime: Duration(commandLineSeconds: self.tokenTtl),
        requireAuthForReads: self.requireAuthForReads,
        throttle: LoginThrottle.Configuration(freeFailures: self.loginFreeFailures),
        userCacheTime: Duration(commandLineSeconds: self.userCacheTime)
      ),
      tls: self.tlsCert.map { cert in
        TLSSettings(
          certificateChainFile: cert,
          privateKeyFile: self.tlsKey ?? "",
          clientCAFile: self.tlsClientCa
        )
      }
    )
    if self.tlsCert == nil, !Self.isLoopback(self.host) {
      let risk = "passwords and tokens cross the network in the clear"
      logger.warning("serving without TLS on \(self.host): \(risk); use --tls-cert and --tls-key")
    }
    let server = try await StorefrontServer(configuration: configuration, logger: logger)
    if let metricsPort = server.metricsPort {
      logger.info(
        "serving metrics",
        metadata: ["url": "http://\(self.host):\(metricsPort)/metrics"]
      )
    }
    // SIGTERM or SIGINT: shutdown begins (health NOT_SERVING, no new calls, streams told);
    // what still runs after the grace period is cancelled.
    var groupConfiguration = ServiceGroupConfiguration(
      services: [.init(service: server)],
      gracefulShutdownSignals: [.sigterm, .sigint],
      logger: logger
    )
    let grace = Duration(commandLineSeconds: self.shutdownGrace)
    groupConfiguration.maximumGracefulShutdownDuration = grace
    let group = ServiceGroup(configuration: groupConfiguration)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      // After the grace period the server is cancelled. If it still has not stopped a little
      // later (grpc-swift-nio-transport can leave a stream opened in the instant of shutdown
      // without an answer, holding the server open), the process ends anyway: every
      // acknowledged write is already on disk.
      tasks.addTask {
        try await server.waitForShutdown()
        try await Task.sleep(for: grace + .seconds(3))
        logger.warning("calls still open after the grace period; exiting")
        Foundation.exit(0)
      }
      let port = try await server.listeningPort
      // Written straight to the file descriptor: stdout is block-buffered when it is not a
      // terminal, and scripts wait for this line.
      let line = "storefront listening on \(self.host):\(port) (data in \(self.dataDir))\n"
      FileHandle.standardOutput.write(Data(line.utf8))
      // The group has stopped: the watchdog is no longer needed.
      try await tasks.next()
      tasks.cancelAll()
    }
  }

  /// Whether `host` is a loopback address (or name), reachable from this machine alone.
  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }

  /// Seconds from a command-line value as a duration, to the millisecond.
  /// The settings as this server runs with them, one line at start. Options whose name says
  /// they hold a secret are hidden (file names, such as `--token-key-file`, are not secrets).
  private func logEffectiveSettings(to logger: Logger) {
    var settings: Logger.Metadata = [:]
    for (name, wrapper) in Self.options(of: self) {
      let secret =
        ["secret", "password"].contains { name.contains($0) } || name.hasSuffix("-token")
      settings[name] = secret ? "(hidden)" : "\(Self.wrappedValue(wrapper))"
    }
    logger.info("effective settings", metadata: settings)
  }

  /// The command's options and flags by their command-line name, with their property
  /// wrappers, read by reflection so that a new option needs no more code.
  private static func options(of command: Serve) -> [(name: String, wrapper: Any)] {
    Mirror(reflecting: command).children.compactMap { child in
      guard let label = child.label, label.hasPrefix("_") else { return nil }
      return (Self.optionName(property: String(label.dropFirst())), child.value)
    }
  }

  /// The value inside an `Option` or `Flag` wrapper, as text: its parsed value, unwrapped
  /// from optionals ("unset" for nil).
  private static func wrappedValue(_ wrapper: Any) -> String {
    var value: Any = wrapper
    // Option(_parsedValue: Parsed.value(x)) -> x
    while let child = Mirror(reflecting: value).children.first,
      Mirror(reflecting: value).displayStyle != .optional
    {
      value = child.value
      if child.label == "value" { break }
    }
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional {
      guard let wrapped = mirror.children.first?.value else { return "unset" }
      return "\(wrapped)"
    }
    return "\(value)"
  }

  /// `dataDir` -> `data-dir`.
  static func optionName(property: String) -> String {
    property.reduce(into: "") { name, character in
      if character.isUppercase {
        name += "-" + character.lowercased()
      } else {
        name.append(character)
      }
    }
  }

  /// The options and flags of the command, read off a default instance, for
  /// ``SettingSources``.
  static var settings: [SettingSources.Setting] {
    Self.options(of: Serve()).map { name, wrapper in
      SettingSources.Setting(
        name: name,
        isFlag: String(describing: type(of: wrapper)).hasPrefix("Flag<")
      )
    }
  }
}
