import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import StorefrontTransport

/// The HTTP/2 and connection settings of the server's transport that an operator may tune.
///
/// The defaults differ from the transport's where a measurement said so: see the README's
/// "Running in production" for the numbers.
public struct TransportSettings: Sendable, Hashable {
  /// Which transport serves the API; both get every setting below.
  public var implementation: TransportImplementation
  /// The HTTP/2 flow-control window of each stream and connection, in bytes. The transport's
  /// 64 KiB throttles uploads: a 64 MiB upload over loopback ran at 96 MiB/s with it,
  /// 267 MiB/s with 1 MiB and 313 MiB/s with 4 MiB (`scripts/measure-window.sh`). 1 MiB takes
  /// most of the gain while bounding what one connection can make the server buffer.
  public var windowBytes: Int
  /// The largest HTTP/2 frame the server accepts, in bytes (16 KiB to 16 MiB).
  public var maxFrameBytes: Int
  /// How many streams one connection may have open at once.
  public var maxConcurrentStreams: Int
  /// How long a connection may be quiet before the server pings it.
  public var keepaliveTime: Duration
  /// How long the server waits for a ping's answer before closing the connection.
  public var keepaliveTimeout: Duration
  /// Whether requests may be gzip- or deflate-compressed (and responses compressed for
  /// clients that ask). Off by default: on the `nio` transport, grpc-swift-nio-transport 2.9.2
  /// leaks about 4 KiB of zlib state per compressed request (measured: +87 MiB RSS over 20,000
  /// gzip GetProducts, +2 MiB without compression); the `storefront` transport does not.
  public var compression: Bool
  /// The shortest interval between a client's pings that the server accepts while calls are
  /// open; faster pings count as strikes, and a few strikes close the connection (GOAWAY
  /// ENHANCE_YOUR_CALM). The transport's default, 5 minutes, closes busy grpcio (C core)
  /// connections, whose flow-control probes ping much more often.
  public var minClientPingInterval: Duration
  /// How long a connection may take to close once the server has told it to go away
  /// (shutdown); then it is closed, with whatever streams it still has. Nil: no limit.
  public var maxGraceTime: Duration?

  public init(
    implementation: TransportImplementation = .storefront,
    windowBytes: Int = 1 << 20,
    maxFrameBytes: Int = 1 << 14,
    maxConcurrentStreams: Int = 1_000,
    keepaliveTime: Duration = .seconds(2 * 60 * 60),
    keepaliveTimeout: Duration = .seconds(20),
    compression: Bool = false,
    minClientPingInterval: Duration = .seconds(1),
    maxGraceTime: Duration? = .seconds(10)
  ) {
    self.implementation = implementation
    self.windowBytes = windowBytes
    self.maxFrameBytes = maxFrameBytes
    self.maxConcurrentStreams = maxConcurrentStreams
    self.keepaliveTime = keepaliveTime
    self.keepaliveTimeout = keepaliveTimeout
    self.compression = compression
    self.minClientPingInterval = minClientPingInterval
    self.maxGraceTime = maxGraceTime
  }

  /// ``StorefrontServerTransport``'s configuration with these settings.
  func storefrontConfiguration(
    host: String,
    port: Int,
    maxRequestMessageBytes: Int,
    tls: TLSSettings?
  ) -> StorefrontServerTransport.Configuration {
    var configuration = StorefrontServerTransport.Configuration()
    configuration.host = host
    configuration.port = port
    if let tls {
      configuration.security = .tls(
        certificateChainFile: tls.certificateChainFile,
        privateKeyFile: tls.privateKeyFile,
        clientCAFile: tls.clientCAFile
      )
    }
    configuration.windowBytes = self.windowBytes
    configuration.maxFrameBytes = self.maxFrameBytes
    configuration.maxConcurrentStreams = self.maxConcurrentStreams
    configuration.maxRequestMessageBytes = maxRequestMessageBytes
    configuration.compression = self.compression ? [.gzip, .deflate] : []
    configuration.keepaliveTime = self.keepaliveTime
    configuration.keepaliveTimeout = self.keepaliveTimeout
    configuration.minClientPingInterval = self.minClientPingInterval
    configuration.maxGraceTime = self.maxGraceTime
    return configuration
  }

  /// grpc-swift-nio-transport's configuration with these settings.
  var posixConfig: HTTP2ServerTransport.Posix.Config {
    var config = HTTP2ServerTransport.Posix.Config.defaults
    config.http2.targetWindowSize = self.windowBytes
    config.http2.maxFrameSize = self.maxFrameBytes
    config.http2.maxConcurrentStreams = self.maxConcurrentStreams
    config.connection.keepalive.time = self.keepaliveTime
    config.connection.keepalive.timeout = self.keepaliveTimeout
    config.compression.enabledAlgorithms = self.compression ? [.gzip, .deflate] : .none
    config.connection.maxGraceTime = self.maxGraceTime
    config.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls =
      self.minClientPingInterval
    config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
      stream.eventLoop.makeCompletedFuture {
        try stream.pipeline.syncOperations.addHandler(GRPCTimeoutGuard(), position: .first)
      }
    }
    return config
  }
}
