import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
public import Prometheus
import Synchronization

/// Serves the Prometheus text format at `GET /metrics` over plain HTTP/1.1, from ``bind()``
/// until ``stop()``.
public final class MetricsEndpoint: Sendable {
  private let host: String
  private let port: Int
  private let registry: PrometheusCollectorRegistry
  private let beforeScrape: @Sendable () -> Void
  private let channel = Mutex<(any Channel)?>(nil)

  /// - Parameters:
  ///   - beforeScrape: runs before each scrape, to record gauges read from elsewhere.
  public init(
    host: String,
    port: Int,
    registry: PrometheusCollectorRegistry,
    beforeScrape: @escaping @Sendable () -> Void = {}
  ) {
    self.host = host
    self.port = port
    self.registry = registry
    self.beforeScrape = beforeScrape
  }

  /// Binds the port; returns the port bound (useful with port 0).
  public func bind() async throws -> Int {
    let registry = self.registry
    let beforeScrape = self.beforeScrape
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          // A connection quiet for 30 s is closed: idle or slow clients cannot pile up.
          try channel.pipeline.syncOperations.addHandler(
            IdleStateHandler(allTimeout: .seconds(30))
          )
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(
            MetricsHTTPHandler(registry: registry, beforeScrape: beforeScrape)
          )
        }
      }
      .bind(host: self.host, port: self.port)
      .get()
    self.channel.withLock { $0 = channel }
    return channel.localAddress?.port ?? self.port
  }

  /// Stops serving; safe to call more than once.
  public func stop() async {
    let channel = self.channel.withLock { channel in
      defer { channel = nil }
      return channel
    }
    try? await channel?.close()
  }
}

/// Answers `GET /metrics` with the registry's text, anything else with 404.
private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let registry: PrometheusCollectorRegistry
  private let beforeScrape: @Sendable () -> Void

  init(registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () -> Void) {
    self.registry = registry
    self.beforeScrape = beforeScrape
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is IdleStateHandler.IdleStateEvent {
      context.close(promise: nil)
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard case .head(let head) = self.unwrapInboundIn(data) else { return }
    let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
    let (status, body, type): (HTTPResponseStatus, [UInt8], String)
    if head.method == .GET, path == "/metrics" {
      self.beforeScrape()
      (status, body, type) = (.ok, self.registry.emitToBuffer(), "text/plain; version=0.0.4")
    } else {
      (status, body, type) = (.notFound, Array("not found; try GET /metrics\n".utf8), "text/plain")
    }
    var headers = HTTPHeaders()
    headers.add(name: "content-type", value: type)
    headers.add(name: "content-length", value: "\(body.count)")
    let keepAlive = head.isKeepAlive
    if !keepAlive { headers.add(name: "connection", value: "close") }
    let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
    context.write(self.wrapOutboundOut(.head(response)), promise: nil)
    context.write(
      self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
      promise: nil
    )
    let done = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
    if !keepAlive {
      let channel = context.channel
      done.whenComplete { _ in channel.close(promise: nil) }
    }
  }
}
