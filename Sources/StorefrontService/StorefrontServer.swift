import CoreMetrics
public import Foundation
public import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import Prometheus
public import ServiceLifecycle
import StorefrontAPI
public import StorefrontCore
public import StorefrontPostgres
import StorefrontSQLite

/// A whole Storefront server: the SQLite store and image files in a data directory (or a
/// PostgreSQL database that several replicas share), the chat hub, and the gRPC server on
/// HTTP/2. Run it as a swift-service-lifecycle `Service`.
public final class StorefrontServer: Service, Sendable {
  /// Where and how the server runs; every field has a default.
  public struct Configuration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 lets the kernel pick one (see ``listeningPort``).
    public var port: Int
    /// Holds `storefront.sqlite`, `images/` and `token.key`; with a PostgreSQL database,
    /// only uploads in progress (`staging/`).
    public var dataDirectory: URL
    /// The PostgreSQL database; nil: SQLite in the data directory.
    public var database: PostgresDatabaseURL?
    /// Fills an empty catalogue with this many demo products.
    public var demoCatalogSize: Int
    /// The largest request message accepted, in bytes.
    public var maxRequestMessageBytes: Int
    /// Image and listing limits.
    public var service: ProductService.Configuration
    /// Chat limits.
    public var chat: ChatLimits
    /// How long the change log behind WatchProducts keeps changes.
    public var changeRetention: ChangeRetention
    /// How many products GetProduct keeps in memory (0: none).
    public var productCacheCapacity: Int
    /// HTTP/2 and connection settings.
    public var transport: TransportSettings
    /// Serve Prometheus metrics over HTTP on this port (0: a free one); none when nil.
    public var metricsPort: Int?
    /// How often a health Watch probes the store.
    public var healthProbeInterval: Duration
    /// Tokens, sign-in throttling and whether reads need a user.
    public var auth: AuthSettings
    /// Serve over TLS (mutual TLS with a client CA); plaintext when nil.
    public var tls: TLSSettings?
    /// gRPC-Web, Connect and the web page beside gRPC.
    public var web: WebSettings

    public init(
      host: String = "127.0.0.1",
      port: Int = 50051,
      dataDirectory: URL = URL(fileURLWithPath: "storefront-data"),
      database: PostgresDatabaseURL? = nil,
      demoCatalogSize: Int = 0,
      maxRequestMessageBytes: Int = 4 * 1024 * 1024,
      service: ProductService.Configuration = ProductService.Configuration(),
      chat: ChatLimits = ChatLimits(),
      changeRetention: ChangeRetention = ChangeRetention(),
      productCacheCapacity: Int = 10_000,
      transport: TransportSettings = TransportSettings(),
      metricsPort: Int? = nil,
      healthProbeInterval: Duration = .seconds(1),
      auth: AuthSettings = AuthSettings(),
      tls: TLSSettings? = nil,
      web: WebSettings = WebSettings()
    ) {
      self.host = host
      self.port = port
      self.dataDirectory = dataDirectory
      self.database = database
      self.demoCatalogSize = demoCatalogSize
      self.maxRequestMessageBytes = maxRequestMessageBytes
      self.service = service
      self.chat = chat
      self.changeRetention = changeRetention
      self.productCacheCapacity = productCacheCapacity
      self.transport = transport
      self.metricsPort = metricsPort
      self.healthProbeInterval = healthProbeInterval
      self.auth = auth
      self.tls = tls
      self.web = web
    }
  }

  /// The store, for tools and tests that look behind the API.
  public let store: any ServedStore
  /// Where image bytes live: files in the data directory, or the database.
  public let blobs: any ImageContentStore
  /// The live chat rooms.
  public let chat: ChatHub
  /// The serving state the health service reports.
  public let health: HealthStatus
  /// Signs users in and checks their tokens.
  public let authenticator: Authenticator
  /// Set when shutdown begins; streams and health read it.
  private let drain = DrainState()
  /// The port metrics are served on, when they are.
  public let metricsPort: Int?
  private let metricsEndpoint: MetricsEndpoint?
  private let server: ServingTransport
  private let callCounts: CallsInFlight
  private let logger: Logger

  /// Opens the data directory (creating it if needed), removes leftovers of interrupted
  /// uploads, fills a demo catalogue if asked, and prepares, but does not start, the server.
  /// - Throws: when the data directory or the database cannot be opened.
  public init(configuration: Configuration, logger: Logger) async throws {
    let manager = FileManager.default
    try manager.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
    self.logger = logger
    // Each server has its own registry, so servers in one process (tests) never share one.
    let registry = PrometheusCollectorRegistry()
    let metrics = PrometheusMetricsFactory(registry: registry)
    let location: StoreLocation = configuration.database.map { .postgres($0) } ?? .sqlite
    (self.store, self.blobs) = try await location.open(
      dataDirectory: configuration.dataDirectory,
      sqlite: SQLiteStore.Configuration(
        changeRetention: configuration.changeRetention,
        feed: ChangeFeed.Configuration(productCacheCapacity: configuration.productCacheCapacity),
        metricsFactory: metrics
      ),
      logger: logger
    )
    let catalogue = cachedCatalogue(self.store)
    let removed = try await self.blobs.removeLeftovers(
      keeping: try await self.store.referencedImageHashes()
    )
    if removed > 0 {
      logger.notice("removed leftovers of interrupted uploads", metadata: ["files": "\(removed)"])
    }
    if configuration.demoCatalogSize > 0 {
      try await Self.fillDemoCatalog(
        self.store,
        count: configuration.demoCatalogSize,
        logger: logger
      )
    }
    let hasher = PasswordHasher(parameters: configuration.auth.passwordHashing)
    self.authenticator = try await Self.makeAuthenticator(
      configuration: configuration,
      store: self.store,
      hasher: hasher,
      logger: logger
    )
    self.chat = ChatHub(store: self.store, limits: configuration.chat)
    let service = ProductService(
      products: catalogue,
      changes: catalogue,
      images: self.store,
      blobs: self.blobs,
      chat: self.chat,
      configuration: configuration.service,
      logger: logger,
      drain: self.drain
    )
    let store = self.store
    self.health = HealthStatus(
      services: [Storefront_V1_ProductService.descriptor.fullyQualifiedService],
      probeInterval: configuration.healthProbeInterval,
      drain: self.drain,
      probe: { await store.isReachable() }
    )
    let descriptors = try DescriptorIndex(
      services: [
        Storefront_V1_ProductService.descriptor.fullyQualifiedService,
        Storefront_V1_AuthService.descriptor.fullyQualifiedService,
        Storefront_V1_UserService.descriptor.fullyQualifiedService,
        Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
        Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService,
        Grpc_Reflection_V1alpha_ServerReflection.descriptor.fullyQualifiedService,
      ]
    )
    let metricsInterceptor = MetricsInterceptor(factory: metrics)
    self.callCounts = metricsInterceptor.calls
    self.server = ServingTransport.make(
      settings: configuration.transport,
      host: configuration.host,
      port: configuration.port,
      maxRequestMessageBytes: configuration.maxRequestMessageBytes,
      tls: configuration.tls,
      web: try configuration.web.transportWeb(),
      services: Self.apiServices(
        service,
        authenticator: self.authenticator,
        users: self.store,
        hasher: hasher
      ) + [
        HealthService(status: self.health),
        ReflectionService(index: descriptors),
        ReflectionServiceV1Alpha(index: descriptors),
      ],
      interceptors: [metricsInterceptor]
        + Self.apiInterceptors(
          authenticator: self.authenticator,
          policy: AccessPolicy(requireAuthForReads: configuration.auth.requireAuthForReads),
          logger: logger
        )
    )
    if let metricsPort = configuration.metricsPort {
      let chat = self.chat
      let endpoint = MetricsEndpoint(
        host: configuration.host,
        port: metricsPort,
        registry: registry
      ) {
        let occupancy = chat.occupancy
        Gauge(label: "storefront_chat_rooms", factory: metrics).record(occupancy.rooms)
        Gauge(label: "storefront_chat_members", factory: metrics).record(occupancy.members)
      }
      self.metricsPort = try await endpoint.bind()
      self.metricsEndpoint = endpoint
    } else {
      self.metricsPort = nil
      self.metricsEndpoint = nil
    }
  }

  /// The API's services: products, sign-in and users. `storefront serve` adds health and
  /// reflection; the fuzz harness serves these alone.
  public static func apiServices(
    _ products: ProductService,
    authenticator: Authenticator,
    users: any UserStore,
    hasher: PasswordHasher
  ) -> [any RegistrableRPCService] {
    [
      products,
      AuthService(authenticator: authenticator),
      UserService(users: users, hasher: hasher),
    ]
  }

  /// The interceptors every assembly of the API runs, in order: request ids and the access
  /// log first (it sees every call's final status), then the status mapping, then
  /// authentication and the access policy.
  /// `storefront serve` puts metrics before them.
  public static func apiInterceptors(
    authenticator: Authenticator,
    policy: AccessPolicy,
    logger: Logger
  ) -> [any ServerInterceptor] {
    [
      AccessLogInterceptor(logger: logger),
      StatusInterceptor(logger: logger),
      AuthInterceptor(authenticator: authenticator, policy: policy),
    ]
  }

  /// Loads (or creates) the token key and tells the operator how to make the first admin
  /// when there are no users.
  private static func makeAuthenticator(
    configuration: Configuration,
    store: any ServedStore,
    hasher: PasswordHasher,
    logger: Logger
  ) async throws -> Authenticator {
    let key = try await Self.tokenKey(configuration: configuration, store: store, logger: logger)
    if try await store.users().isEmpty {
      let target =
        configuration.database.map { "--database \($0)" }
        ?? "--data-dir \(configuration.dataDirectory.path)"
      let command = "storefront user add NAME --role admin \(target)"
      logger.warning("there are no users yet: create the first admin with `\(command)`")
    }
    return Authenticator(
      users: store,
      tokens: try await AccessTokens(key: key, lifetime: configuration.auth.tokenLifetime),
      hasher: hasher,
      throttle: store.loginThrottle(configuration.auth.throttle),
      configuration: Authenticator.Configuration(userCacheTime: configuration.auth.userCacheTime)
    )
  }

  /// The token signing key: `--token-key-file`'s; else, on PostgreSQL, the one every
  /// replica shares in the database; else `token.key` in the data directory. Created when
  /// absent.
  private static func tokenKey(
    configuration: Configuration,
    store: any ServedStore,
    logger: Logger
  ) async throws -> [UInt8] {
    if configuration.auth.tokenKeyFile == nil, let shared = store as? PostgresStore {
      let (key, created) = try await shared.sharedTokenKey(generate: TokenKeyFile.generate)
      if created { logger.notice("created a token signing key in the database") }
      return key
    }
    let keyFile =
      configuration.auth.tokenKeyFile
      ?? configuration.dataDirectory.appendingPathComponent("token.key")
    let (key, created) = try TokenKeyFile.loadOrCreate(at: keyFile)
    if created {
      logger.notice("created a token signing key", metadata: ["file": "\(keyFile.path)"])
    }
    return key
  }

  private static func fillDemoCatalog(
    _ store: any ProductStore,
    count: Int,
    logger: Logger
  ) async throws {
    guard try await store.productCount() == 0 else {
      logger.info("catalogue is not empty; --demo-catalog does nothing")
      return
    }
    var index = 0
    while index < count {
      let end = min(count, index + 1_000)
      _ = try await store.insert(contentsOf: (index ..< end).map(DemoCatalog.product(at:)))
      index = end
    }
    logger.info("filled the demo catalogue", metadata: ["products": "\(count)"])
  }

  /// The port the server listens on, once it does.
  public var listeningPort: Int {
    get async throws {
      guard let port = try await self.server.listeningPort else {
        throw StorefrontError(code: .internalError, message: "the server has no IPv4 address")
      }
      return port
    }
  }

  /// Serves until shutdown, then closes the store. On graceful shutdown (SIGTERM or SIGINT
  /// under a `ServiceGroup`) it stops accepting calls, tells chat members, lets in-flight
  /// calls finish, and returns.
  public func run() async throws {
    do {
      try await withGracefulShutdownHandler {
        try await self.server.serve()
      } onGracefulShutdown: {
        self.beginShutdown()
      }
    } catch let error where self.drain.hasBegun && Self.isCancellation(error) {
      // The grace period ended and what still ran was cancelled: the planned end of a
      // shutdown, whichever of the transport's tasks noticed it first.
    } catch {
      await self.close()
      throw error
    }
    await self.close()
  }

  /// Whether `error` is a cancellation, perhaps wrapped by the framework.
  private static func isCancellation(_ error: any Error) -> Bool {
    switch error {
    case is CancellationError: true
    case let error as RuntimeError: error.cause.map(Self.isCancellation) ?? false
    default: false
    }
  }

  /// Stops the metrics endpoint and closes the store: the end of ``run()``, however it ends.
  private func close() async {
    await self.metricsEndpoint?.stop()
    do {
      try self.store.closeStore()
    } catch {
      self.logger.error("could not close the store", metadata: ["error": "\(error)"])
    }
  }

  /// The calls in flight now, by fully qualified method, with how many of each.
  public var callsInFlight: [String: Int] {
    self.callCounts.snapshot
  }

  /// Returns once shutdown has begun.
  /// - Throws: `CancellationError` when the task is cancelled first.
  public func waitForShutdown() async throws {
    try await self.drain.waitUntilBegun()
  }

  /// Starts a graceful shutdown: no new calls, chat members told and live watches ended
  /// (both with UNAVAILABLE), other calls in flight finish.
  public func beginShutdown() {
    self.drain.begin()
    self.chat.shutdown()
    self.store.endChangeWaits()
    self.server.beginGracefulShutdown()
  }
}
