import Foundation
public import GRPCCore
public import GRPCNIOTransportHTTP2
public import StorefrontAPI
import Synchronization

/// A connection to a Storefront server, with a typed async API over the generated gRPC
/// client: products, listing as an `AsyncSequence`, a live watch that resumes by itself,
/// image upload and download with progress, imports, chat, and sign-in that keeps its token.
///
/// ```swift
/// try await StorefrontClient.with(.init(server: .init(host: "127.0.0.1", port: 50051))) { shop in
///   for try await product in shop.products(.init(category: "kitchen")) {
///     print(product.name, product.priceCents)
///   }
/// }
/// ```
///
/// Every failed call throws ``StorefrontClientError``. Idempotent reads (GetProduct,
/// ListProducts, DownloadProductImage) are retried on `UNAVAILABLE` by grpc-swift's retry
/// policy (``Configuration/readRetries``); writes never are.
public final class StorefrontClient: Sendable {
  /// Where the server is and how to reach it.
  public struct Configuration: Sendable {
    /// The server's address.
    public var server: Server
    /// Plaintext (the default, for loopback) or TLS.
    public var security: Security
    /// How long a unary call may take.
    public var unaryTimeout: Duration
    /// How often an idempotent read is tried in all when it fails `UNAVAILABLE` (1: never
    /// retried).
    public var readRetries: Int

    public init(
      server: Server,
      security: Security = .plaintext,
      unaryTimeout: Duration = .seconds(10),
      readRetries: Int = 3
    ) {
      self.server = server
      self.security = security
      self.unaryTimeout = unaryTimeout
      self.readRetries = readRetries
    }
  }

  /// A server's host and port.
  public struct Server: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
      self.host = host
      self.port = port
    }

    /// Parses `host:port` (`[::1]:50051` for IPv6); nil when it is not that.
    public init?(_ address: String) {
      guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
        let port = Int(address[address.index(after: colon)...]), (1 ... 65535).contains(port)
      else { return nil }
      self.init(host: String(address[..<colon]), port: port)
    }

    public var description: String { "\(self.host):\(self.port)" }

    /// IP addresses as such, since TLS may not send one as a server name (SNI); anything
    /// else as a DNS name.
    var target: any ResolvableTarget {
      if self.host.contains(":") {
        return .ipv6(
          address: self.host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
          port: self.port
        )
      }
      let isIPv4 =
        self.host.split(separator: ".", omittingEmptySubsequences: false).count == 4
        && self.host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
      return isIPv4
        ? .ipv4(address: self.host, port: self.port) : .dns(host: self.host, port: self.port)
    }
  }

  /// How the connection is secured.
  public enum Security: Sendable, Hashable {
    /// No TLS: for loopback and trusted networks.
    case plaintext
    /// TLS, trusting the issuer in the PEM file `trustRoots` (the system's roots when nil),
    /// presenting the client certificate `clientCertificate` with `clientKey` (PEM files) to
    /// servers that require one.
    case tls(trustRoots: String?, clientCertificate: String? = nil, clientKey: String? = nil)

    var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
      switch self {
      case .plaintext:
        return .plaintext
      case .tls(let trustRoots, let certificate, let key):
        return .tls { config in
          if let trustRoots {
            config.trustRoots = .certificates([.file(path: trustRoots, format: .pem)])
          }
          if let certificate, let key {
            config.certificateChain = [.file(path: certificate, format: .pem)]
            config.privateKey = .file(path: key, format: .pem)
          }
        }
      }
    }
  }

  /// The generated client, for what the typed API does not cover (the bench's raw calls).
  public let products: Storefront_V1_ProductService.Client<HTTP2ClientTransport.Posix>
  let auth: Storefront_V1_AuthService.Client<HTTP2ClientTransport.Posix>
  let configuration: Configuration
  private let grpc: GRPCClient<HTTP2ClientTransport.Posix>
  private let tokenStore: TokenStore

  /// A client of the server in `configuration`, sending `token` (if any) with every call.
  /// Call ``run()`` in a task of its own, or use ``with(_:token:_:)``.
  public init(_ configuration: Configuration, token: String? = nil) throws {
    self.configuration = configuration
    self.tokenStore = TokenStore(token)
    self.grpc = GRPCClient(
      transport: try .http2NIOPosix(
        target: configuration.server.target,
        transportSecurity: configuration.security.transportSecurity,
        serviceConfig: Self.serviceConfig(readRetries: configuration.readRetries)
      ),
      interceptors: [BearerTokenInterceptor(store: self.tokenStore)]
    )
    self.products = Storefront_V1_ProductService.Client(wrapping: self.grpc)
    self.auth = Storefront_V1_AuthService.Client(wrapping: self.grpc)
  }

  /// Runs a client for as long as `body` runs, then closes it.
  public static func with<Result: Sendable>(
    _ configuration: Configuration,
    token: String? = nil,
    _ body: (StorefrontClient) async throws -> Result
  ) async throws -> Result {
    let client = try StorefrontClient(configuration, token: token)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.run() }
      defer { client.close() }
      return try await body(client)
    }
  }

  /// Maintains the connections until ``close()``; run it in a task of its own.
  public func run() async throws {
    try await self.grpc.runConnections()
  }

  /// Lets calls in flight finish, refuses new ones, and ends ``run()``.
  public func close() {
    self.grpc.beginGracefulShutdown()
  }

  /// The access token sent with every call; set by ``signIn(username:password:)``.
  public var token: String? {
    get { self.tokenStore.token }
    set { self.tokenStore.token = newValue }
  }

  /// Options for a unary call: the configured timeout.
  var unaryOptions: CallOptions {
    var options = CallOptions.defaults
    options.timeout = self.configuration.unaryTimeout
    return options
  }

  /// Retries on UNAVAILABLE for the reads that are safe to repeat.
  private static func serviceConfig(readRetries: Int) -> ServiceConfig {
    guard readRetries > 1 else { return ServiceConfig() }
    let service = Storefront_V1_ProductService.descriptor.fullyQualifiedService
    let reads = ["GetProduct", "ListProducts", "DownloadProductImage"].map {
      MethodConfig.Name(service: service, method: $0)
    }
    let policy = RetryPolicy(
      maxAttempts: readRetries,
      initialBackoff: .milliseconds(100),
      maxBackoff: .seconds(2),
      backoffMultiplier: 2,
      retryableStatusCodes: [.unavailable]
    )
    return ServiceConfig(methodConfig: [MethodConfig(names: reads, executionPolicy: .retry(policy))]
    )
  }

  /// Runs `body`, turning a failed call into a ``StorefrontClientError``.
  func call<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
    do {
      return try await body()
    } catch let error as RPCError {
      throw StorefrontClientError(error)
    }
  }
}

/// The token the client sends, changed by sign-in while calls run.
final class TokenStore: Sendable {
  private let value: Mutex<String?>

  init(_ token: String?) {
    self.value = Mutex(token)
  }

  var token: String? {
    get { self.value.withLock { $0 } }
    set { self.value.withLock { $0 = newValue } }
  }
}

/// A client interceptor that sends `authorization: Bearer <token>` on every call that does not
/// carry an `authorization` of its own, while there is a token.
public struct BearerTokenInterceptor: ClientInterceptor {
  private let store: TokenStore

  /// Sends `token` on every call.
  public init(token: String) {
    self.init(store: TokenStore(token))
  }

  init(store: TokenStore) {
    self.store = store
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws ->
      StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    if let token = self.store.token,
      !request.metadata[stringValues: "authorization"].contains(where: { _ in true })
    {
      request.metadata.addString("Bearer \(token)", forKey: "authorization")
    }
    return try await next(request, context)
  }
}
