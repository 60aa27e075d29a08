public import NIOCore
import NIOPosix

extension StorefrontServerTransport {
  /// Where and how the transport listens; every field has a default.
  public struct Configuration: Sendable {
    /// The address to listen on.
    public var host = "127.0.0.1"
    /// The port to listen on; 0 lets the kernel pick one (see ``listeningAddress``).
    public var port = 0
    /// Plaintext HTTP/2, TLS or mutual TLS.
    public var security = Security.plaintext
    /// The HTTP/2 flow-control window of each stream and of each connection, in bytes.
    public var windowBytes = 65_535
    /// The largest HTTP/2 frame the server accepts, in bytes (16 KiB to 16 MiB).
    public var maxFrameBytes = 16_384
    /// How many streams one connection may have open at once.
    public var maxConcurrentStreams = 100
    /// The largest header list a request may have (`SETTINGS_MAX_HEADER_LIST_SIZE`).
    public var maxHeaderListBytes = 16_384
    /// The largest request message, in bytes (after decompression); a larger one answers
    /// RESOURCE_EXHAUSTED.
    public var maxRequestMessageBytes = 4 * 1024 * 1024
    /// The encodings requests may use, and responses use for clients that accept them.
    public var compression: [CompressionMethod] = []
    /// How long a connection may be quiet before the server pings it.
    public var keepaliveTime = Duration.seconds(2 * 60 * 60)
    /// How long the server waits for its ping's answer before closing the connection.
    public var keepaliveTimeout = Duration.seconds(20)
    /// The shortest interval between a client's pings without HEADERS or DATA in between; see
    /// ``ClientPingPolicy``.
    public var minClientPingInterval = Duration.seconds(5 * 60)
    /// Whether a client without calls may ping as often as one with calls.
    public var allowClientPingsWithoutCalls = false
    /// How long a connection may take to close once the server has told it to go away; then it
    /// is closed with whatever streams it still has. Nil: no limit.
    public var maxGraceTime: Duration?
    /// A stream's writer waits once this many response bytes wait for the wire...
    public var outboundHighWatermark = 128 * 1024
    /// ...until fewer than this many do.
    public var outboundLowWatermark = 64 * 1024
    /// gRPC-Web, Connect and the web page beside gRPC, over HTTP/2 and HTTP/1.1; nil: gRPC
    /// over HTTP/2 only.
    public var web: Web?
    /// The event loops connections are served on.
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// The defaults; set the fields to change them.
    public init() {}

    /// A stream's first DATA write up to this size goes without a completion promise.
    var uncountedFirstWriteBytes: Int { 16_384 }
  }

  /// Plaintext or TLS, with certificates and keys from PEM files.
  public enum Security: Sendable {
    /// HTTP/2 over TCP without TLS ("h2c"), for loopback and trusted networks.
    case plaintext
    /// TLS with ALPN `h2`; with `clientCAFile`, clients must present a certificate that CA
    /// signed (mutual TLS).
    case tls(certificateChainFile: String, privateKeyFile: String, clientCAFile: String?)
  }
}
