public import GRPCCore
public import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// Storefront's gRPC server transport: HTTP/2 on SwiftNIO in which every call is served on its
/// connection's event loop.
///
/// Each connection is a `NIOHTTP2Handler` and a ``ConnectionHandler`` behind it, no stream
/// channels: a call's frames go to a ``ServerStream`` that its task reads and writes in place.
/// Each connection has one task (a child of ``listen(streamHandler:)``) whose children run the
/// calls, and all of them prefer the connection's event loop as their executor, so a handler
/// that does not suspend runs from HEADERS to trailers on the thread that read the request.
public final class StorefrontServerTransport: ServerTransport {
  public typealias Bytes = TransportBytes

  private let configuration: Configuration
  private let state: Mutex<State>
  private let knownMethods = Mutex<[String: MethodDescriptor]>([:])
  /// Succeeded with the bound address once listening (nil when the transport never listens).
  private let listening: EventLoopPromise<SocketAddress?>

  private struct State {
    var serverChannel: (any Channel)?
    var connections: [ObjectIdentifier: any Channel] = [:]
    var isShuttingDown = false
    var hasListened = false
    var listeningResolved = false
  }

  /// A transport that listens as `configuration` says, once ``listen(streamHandler:)`` runs.
  public init(configuration: Configuration) {
    self.configuration = configuration
    self.state = Mutex(State())
    self.listening = configuration.eventLoopGroup.any().makePromise()
  }

  deinit {
    self.resolveListening(nil)
  }

  /// Completes ``listeningAddress`` (once).
  private func resolveListening(_ address: SocketAddress?) {
    let first = self.state.withLock { state in
      defer { state.listeningResolved = true }
      return !state.listeningResolved
    }
    if first {
      self.listening.succeed(address)
    }
  }

  /// The address the transport listens on, once it does (the port the kernel picked when
  /// configured with port 0).
  /// - Throws: when the transport stopped without listening.
  public var listeningAddress: SocketAddress {
    get async throws {
      guard let address = try await self.listening.futureResult.get() else {
        throw RPCError(code: .unavailable, message: "The transport is not listening.")
      }
      return address
    }
  }

  public func configure(context: GRPCServerContext) {
    var byPath: [String: MethodDescriptor] = [:]
    for method in context.methods {
      byPath["/" + method.fullyQualifiedMethod] = method
    }
    self.knownMethods.withLock { $0 = byPath }
  }

  public func listen(
    streamHandler:
      @escaping @Sendable (
        _ stream: RPCStream<Inbound, Outbound>,
        _ context: ServerContext
      ) async -> Void
  ) async throws {
    let alreadyListened = self.state.withLock { state in
      defer { state.hasListened = true }
      return state.hasListened
    }
    guard !alreadyListened else {
      throw RPCError(code: .failedPrecondition, message: "The transport is already listening.")
    }
    let (connections, accepted) = AsyncStream.makeStream(of: AcceptedConnection.self)
    let serverChannel: any Channel
    do {
      serverChannel = try await self.bind(accepted: accepted)
    } catch {
      self.resolveListening(nil)
      throw error
    }
    let shutDownBeforeBind = self.state.withLock { state in
      state.serverChannel = serverChannel
      return state.isShuttingDown
    }
    self.resolveListening(serverChannel.localAddress)
    serverChannel.closeFuture.whenComplete { _ in accepted.finish() }
    if shutDownBeforeBind {
      serverChannel.close(promise: nil)
    }

    await withTaskCancellationHandler {
      await withDiscardingTaskGroup { group in
        for await connection in connections {
          group.addTask(executorPreference: connection.executor) {
            await connection.serve(handler: streamHandler)
          }
        }
      }
    } onCancel: {
      serverChannel.close(promise: nil)
    }
  }

  /// Binds the listening socket; each accepted connection is configured on its own loop and
  /// yielded to `accepted`.
  private func bind(
    accepted: AsyncStream<AcceptedConnection>.Continuation
  ) async throws -> any Channel {
    let sslContext = try self.configuration.security.makeSSLContext(
      http1: self.configuration.web != nil
    )
    let configuration = self.configuration
    let knownMethods = self.knownMethods.withLock { $0 }
    return try await ServerBootstrap(group: configuration.eventLoopGroup)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let connection = try Self.configurePipeline(
            channel,
            configuration: configuration,
            knownMethods: knownMethods,
            sslContext: sslContext
          )
          if self.track(channel) {
            accepted.yield(connection)
          } else {
            channel.close(promise: nil)
          }
        }
      }
      .bind(host: configuration.host, port: configuration.port)
      .get()
  }

  /// Keeps `channel` among the connections that a shutdown tells; false once shutdown began.
  private func track(_ channel: any Channel) -> Bool {
    let id = ObjectIdentifier(channel)
    let tracked = self.state.withLock { state in
      guard !state.isShuttingDown else { return false }
      state.connections[id] = channel
      return true
    }
    if tracked {
      channel.closeFuture.whenComplete { _ in
        _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
      }
    }
    return tracked
  }

  /// TLS (when configured), HTTP/2 and the connection handler; with the web protocols,
  /// HTTP/2 or HTTP/1.1 as the connection's first bytes say (``ProtocolSniffer``).
  private static func configurePipeline(
    _ channel: any Channel,
    configuration: Configuration,
    knownMethods: [String: MethodDescriptor],
    sslContext: NIOSSLContext?
  ) throws -> AcceptedConnection {
    let pipeline = channel.pipeline.syncOperations
    if let sslContext {
      try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
    }
    let handler = ConnectionHandler(
      eventLoop: channel.eventLoop,
      configuration: configuration,
      knownMethods: knownMethods
    )
    if configuration.web == nil {
      try pipeline.addHandler(
        Self.makeHTTP2Handler(configuration: configuration, delegate: handler)
      )
    } else {
      let isTLS = sslContext != nil
      let sniffer = ProtocolSniffer { isHTTP1, context in
        let pipeline = context.pipeline.syncOperations
        if isHTTP1 {
          try pipeline.configureHTTPServerPipeline(
            position: .after(context.handler),
            withPipeliningAssistance: true,
            withErrorHandling: true
          )
          try pipeline.addHandler(
            HTTP1Adapter(isTLS: isTLS, windowBytes: configuration.windowBytes),
            position: .before(handler)
          )
        } else {
          try pipeline.addHandler(
            Self.makeHTTP2Handler(configuration: configuration, delegate: handler),
            position: .after(context.handler)
          )
        }
      }
      try pipeline.addHandler(sniffer)
    }
    try pipeline.addHandler(handler)
    return AcceptedConnection(
      channel: channel,
      handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
      executor: EventLoopTaskExecutor(eventLoop: channel.eventLoop)
    )
  }

  /// swift-nio-http2's handler with the transport's settings.
  private static func makeHTTP2Handler(
    configuration: Configuration,
    delegate: ConnectionHandler
  ) -> NIOHTTP2Handler {
    var connection = NIOHTTP2Handler.ConnectionConfiguration()
    connection.initialSettings = [
      HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maxConcurrentStreams),
      HTTP2Setting(parameter: .initialWindowSize, value: configuration.windowBytes),
      HTTP2Setting(parameter: .maxFrameSize, value: configuration.maxFrameBytes),
      HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maxHeaderListBytes),
    ]
    // Every stream window is given back by hand, as calls read (the multiplexer that would do
    // it automatically is not used).
    connection.targetWindowSize = configuration.windowBytes
    // NIOHTTP2 counts PING, SETTINGS and PRIORITY frames together, 200 per 30 s by default:
    // fewer than the BDP pings a grpc-go or C-core client sends during a long transfer. Ping
    // floods are ``ClientPingPolicy``'s to stop; this bound stays for SETTINGS floods. The
    // bound is 100 per 100 ms (1,000 a second) rather than a large count over 30 s, because
    // NIOHTTP2 reserves a timestamp per frame of the count for every connection: a count of
    // 10,000 cost each idle connection about 8 KiB of resident memory, 100 cost 800 bytes.
    connection.controlFrameRateLimit.maximumCount = 100
    connection.controlFrameRateLimit.windowLength = .milliseconds(100)
    return NIOHTTP2Handler(
      mode: .server,
      frameDelegate: delegate,
      connectionConfiguration: connection
    )
  }

  /// Stops taking connections and tells every connection to go away gracefully: calls in
  /// flight finish, new ones are refused. ``listen(streamHandler:)`` returns once every
  /// connection has closed.
  public func beginGracefulShutdown() {
    let (server, connections) = self.state.withLock { state in
      state.isShuttingDown = true
      return (state.serverChannel, Array(state.connections.values))
    }
    server?.close(promise: nil)
    for connection in connections {
      connection.triggerUserOutboundEvent(GracefulShutdownEvent(), promise: nil)
    }
  }
}
