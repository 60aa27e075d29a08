import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import NIOCore
import StorefrontTransport

/// The transport the fuzzer's calls cross.
public enum FuzzTransport: String, CaseIterable, Sendable {
  /// In process: no HTTP/2 at all, the fastest way to fuzz decoding and validation.
  case inProcess = "in-process"
  /// Storefront's HTTP/2 server transport over loopback.
  case storefront
  /// grpc-swift-nio-transport's HTTP/2 server transport over loopback.
  case nio
}

/// A server and a client connected to it over one of the ``FuzzTransport``s: `GRPCServer`
/// and `GRPCClient` are generic over their transports, and the fuzzer picks one at run time.
struct FuzzConnection: Sendable {
  typealias Call =
    @Sendable (
      StreamingClientRequest<[UInt8]>,
      MethodDescriptor,
      CallOptions,
      @escaping @Sendable (StreamingClientResponse<[UInt8]>) async throws -> Void
    ) async throws -> Void

  /// Makes one call with raw request and response bytes.
  let call: Call
  /// Stops the client and the server.
  let stop: @Sendable () async -> Void

  /// Serves `services` behind `interceptors` over `transport`, and connects a client.
  static func start(
    _ transport: FuzzTransport,
    services: [any RegistrableRPCService],
    interceptors: [any ServerInterceptor]
  ) async throws -> FuzzConnection {
    switch transport {
    case .inProcess:
      let pair = InProcessTransport()
      let server = GRPCServer(
        transport: pair.server,
        services: services,
        interceptors: interceptors
      )
      return Self.start(server: server, client: GRPCClient(transport: pair.client))
    case .storefront:
      var configuration = StorefrontServerTransport.Configuration()
      configuration.windowBytes = 1 << 20
      configuration.maxConcurrentStreams = 1_000
      let serverTransport = StorefrontServerTransport(configuration: configuration)
      let server = GRPCServer(
        transport: serverTransport,
        services: services,
        interceptors: interceptors
      )
      let connection = Self.start(server: server) {
        try await Self.client(port: serverTransport.listeningAddress.port ?? 0)
      }
      return try await connection()
    case .nio:
      let serverTransport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: "127.0.0.1", port: 0),
        transportSecurity: .plaintext
      )
      let server = GRPCServer(
        transport: serverTransport,
        services: services,
        interceptors: interceptors
      )
      let connection = Self.start(server: server) {
        try await Self.client(port: serverTransport.listeningAddress.ipv4?.port ?? 0)
      }
      return try await connection()
    }
  }

  /// A plaintext HTTP/2 client of 127.0.0.1:`port`.
  private static func client(port: Int) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
    GRPCClient(
      transport: try .http2NIOPosix(
        target: .ipv4(address: "127.0.0.1", port: port),
        transportSecurity: .plaintext
      )
    )
  }

  /// Starts `server`, then (once it listens) a client that `makeClient` makes.
  private static func start<Server: ServerTransport, Client: ClientTransport>(
    server: GRPCServer<Server>,
    makeClient: @escaping @Sendable () async throws -> GRPCClient<Client>
  ) -> @Sendable () async throws -> FuzzConnection {
    {
      let serving = Task { try await server.serve() }
      let client: GRPCClient<Client>
      do {
        client = try await makeClient()
      } catch {
        server.beginGracefulShutdown()
        _ = await serving.result
        throw error
      }
      return Self.start(server: server, client: client, serving: serving)
    }
  }

  /// Runs `client`'s connections (and `server`, unless it already runs in `serving`).
  private static func start<Server: ServerTransport, Client: ClientTransport>(
    server: GRPCServer<Server>,
    client: GRPCClient<Client>,
    serving: Task<Void, any Error>? = nil
  ) -> FuzzConnection {
    let serving = serving ?? Task { try await server.serve() }
    let connecting = Task { try await client.runConnections() }
    return FuzzConnection(
      call: { request, method, options, handle in
        try await client.bidirectionalStreaming(
          request: request,
          descriptor: method,
          serializer: RawBytes(),
          deserializer: RawBytes(),
          options: options,
          onResponse: handle
        )
      },
      stop: {
        client.beginGracefulShutdown()
        server.beginGracefulShutdown()
        _ = await connecting.result
        _ = await serving.result
      }
    )
  }
}
