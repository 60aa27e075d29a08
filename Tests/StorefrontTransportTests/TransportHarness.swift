import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOPosix
import StorefrontTransport

/// Runs a `GRPCServer` with the echo service on a ``StorefrontServerTransport`` bound to
/// 127.0.0.1 with a port the kernel picks, and a grpc-swift client (the stock HTTP/2 client
/// transport) connected to it.
///
/// Server and client run on an event loop of their own, not the process's shared group: a
/// test that loads its loop (a thousand streams at once) then slows nobody else's calls.
enum TransportHarness {
  static func with(
    maxRequestMessageBytes: Int = 4 * 1024 * 1024,
    compression: [CompressionMethod] = [],
    clientCompression: CompressionAlgorithmSet = .none,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>, Probe, Int) async throws -> Void
  ) async throws {
    var configuration = StorefrontServerTransport.Configuration()
    configuration.maxConcurrentStreams = 2_000
    configuration.windowBytes = 1 << 20
    configuration.maxRequestMessageBytes = maxRequestMessageBytes
    configuration.compression = compression
    let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { loop.shutdownGracefully { _ in } }
    configuration.eventLoopGroup = loop
    let transport = StorefrontServerTransport(configuration: configuration)
    let probe = Probe()
    let server = GRPCServer(transport: transport, services: [EchoService(probe: probe)])
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      let port = try await transport.listeningAddress.port ?? 0
      var config = HTTP2ClientTransport.Posix.Config.defaults
      config.compression.enabledAlgorithms = clientCompression
      do {
        try await withGRPCClient(
          transport: .http2NIOPosix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .plaintext,
            config: config,
            eventLoopGroup: loop
          )
        ) { client in
          try await body(client, probe, port)
        }
      } catch {
        server.beginGracefulShutdown()
        throw error
      }
      server.beginGracefulShutdown()
    }
  }
}

extension GRPCClient {
  /// A unary call of the echo service's `method` with raw bytes.
  func echo(
    _ message: [UInt8],
    method: MethodDescriptor = EchoService.get,
    options: CallOptions = .defaults
  ) async throws -> ClientResponse<[UInt8]> {
    try await self.unary(
      request: ClientRequest(message: message),
      descriptor: method,
      serializer: RawBytes(),
      deserializer: RawBytes(),
      options: options
    ) { $0 }
  }
}
