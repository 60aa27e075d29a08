import NIOCore
import NIOHTTP2

extension ConnectionHandler {
  /// Where a connection is in going away.
  enum ShutdownState {
    case active
    /// The first GOAWAY (last stream: the largest id) and a PING are out; streams the client
    /// opens until the PING's ack are still served. The connection closes when its streams have.
    case draining
    /// The PING's ack came, and with it the second GOAWAY, naming the last stream served; the
    /// connection closes when its streams have.
    case drainingFinal
  }

  /// The data of the server's keepalive pings.
  static let keepalivePing = HTTP2PingData(withInteger: 0x5354_4F52_4546_524B)
  /// The data of the PING that follows the first GOAWAY of a graceful shutdown.
  static let drainPing = HTTP2PingData(withInteger: 0x5354_4F52_4452_4149)

  // MARK: Keepalive

  /// Checks the connection every keepalive interval: one quiet for that long is pinged.
  func scheduleKeepalive() {
    self.keepaliveTimer = self.eventLoop.assumeIsolated().scheduleTask(
      in: TimeAmount(self.configuration.keepaliveTime)
    ) {
      self.keepaliveDue()
    }
  }

  private func keepaliveDue() {
    if self.readSinceKeepaliveCheck {
      self.readSinceKeepaliveCheck = false
      self.scheduleKeepalive()
      return
    }
    self.write(
      HTTP2Frame(streamID: .rootStream, payload: .ping(Self.keepalivePing, ack: false)),
      promise: nil
    )
    self.flushNow()
    self.keepaliveTimeoutTimer = self.eventLoop.assumeIsolated().scheduleTask(
      in: TimeAmount(self.configuration.keepaliveTimeout)
    ) {
      // No answer: the peer is gone.
      self.closeAfterWrites()
    }
  }

  /// A PING from the client (HTTP/2 has already acked it), or the ack of one of ours.
  func receivedPing(_ data: HTTP2PingData, ack: Bool) {
    guard !ack else {
      if data == Self.keepalivePing {
        self.keepaliveTimeoutTimer?.cancel()
        self.keepaliveTimeoutTimer = nil
        self.scheduleKeepalive()
      } else if data == Self.drainPing {
        self.drainPingAcked()
      }
      return
    }
    if self.pingPolicy.receivedPing(at: .now(), hasOpenCalls: self.hasOpenStreams) {
      let goAway = HTTP2Frame(
        streamID: .rootStream,
        payload: .goAway(
          lastStreamID: self.lastStreamID,
          errorCode: .enhanceYourCalm,
          opaqueData: ByteBuffer(string: "too_many_pings")
        )
      )
      self.write(goAway, promise: nil)
      self.needsFlush()
    }
  }

  // MARK: Graceful shutdown

  /// Starts going away, as grpc-go's and C-core's servers do: a GOAWAY whose last stream is the largest id,
  /// then a PING. A compliant client opens no stream once it has read the GOAWAY, so the streams
  /// it opens before the PING's ack are those that crossed the GOAWAY on the wire, and they are
  /// served; then a second GOAWAY names the last one (``drainPingAcked()``). The connection
  /// closes when its streams have, or when the grace time ends.
  ///
  /// The first GOAWAY goes to the wire below `NIOHTTP2Handler`, which does not see it. Once
  /// swift-nio-http2 1.46 has sent a GOAWAY itself it creates no stream, whatever the last
  /// stream id: it refuses a stream that crossed the GOAWAY (RST_STREAM REFUSED_STREAM), and
  /// then that stream's DATA, already on the way, is a connection error (GOAWAY PROTOCOL_ERROR)
  /// that fails every call of the connection. The drain test (`test_sigterm_drains_...`) saw
  /// this in about half its runs, its upload in flight cut off 0.02 s after SIGTERM.
  func beginGracefulShutdown() {
    guard case .active = self.shutdown else { return }
    self.shutdown = .draining
    self.writeGoAwayBelowHTTP2(lastStreamID: .maxID)
    self.write(
      HTTP2Frame(streamID: .rootStream, payload: .ping(Self.drainPing, ack: false)),
      promise: nil
    )
    self.flushNow()
    if let grace = self.configuration.maxGraceTime {
      self.graceTimer = self.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(grace)) {
        self.closeAfterWrites()
      }
    }
    if !self.hasOpenStreams {
      self.closeAfterWrites()
    }
  }

  /// The client has read the first GOAWAY: every stream it opened is known. The second GOAWAY
  /// goes through `NIOHTTP2Handler`, which from now on refuses new streams.
  private func drainPingAcked() {
    guard case .draining = self.shutdown else { return }
    self.shutdown = .drainingFinal
    self.write(
      HTTP2Frame(
        streamID: .rootStream,
        payload: .goAway(lastStreamID: self.lastStreamID, errorCode: .noError, opaqueData: nil)
      ),
      promise: nil
    )
    self.needsFlush()
  }

  /// Writes a GOAWAY frame (NO_ERROR, `lastStreamID`) to the handler below `NIOHTTP2Handler`
  /// (TLS or the socket), so that HTTP/2's state machine does not enter its quiescing state.
  private func writeGoAwayBelowHTTP2(lastStreamID: HTTP2StreamID) {
    guard let context = self.context, !self.isClosed,
      let http2 = try? context.pipeline.syncOperations.context(handlerType: NIOHTTP2Handler.self)
    else { return }
    var frame = context.channel.allocator.buffer(capacity: 17)
    frame.writeInteger(UInt32(8) << 8 | 0x7)  // payload length (24 bits), type GOAWAY
    frame.writeInteger(UInt8(0))  // flags
    frame.writeInteger(UInt32(0))  // stream 0
    frame.writeInteger(UInt32(Int32(lastStreamID)))
    frame.writeInteger(UInt32(0))  // NO_ERROR
    http2.write(NIOAny(frame), promise: nil)
    http2.flush()
  }
}
