import NIOCore
import NIOHTTP2

extension ConnectionHandler {
  /// Where a connection is in going away.
  enum ShutdownState {
    case active
    /// The GOAWAY is out; the connection closes when its streams have.
    case draining
  }

  /// The data of the server's keepalive pings.
  static let keepalivePing = HTTP2PingData(withInteger: 0x5354_4F52_4546_524B)

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

  /// Starts going away: one GOAWAY that still admits the streams the client may be opening
  /// (last stream: the largest id), so that no stream crosses it unanswered; a compliant
  /// client opens no more. The connection closes when its streams have (with a GOAWAY naming
  /// the last one), or when the grace time ends.
  ///
  /// A second GOAWAY that lowers the last stream id (after a PING round trip, as
  /// grpc-swift-nio-transport does) is not sent: swift-nio-http2 1.46 then refuses the DATA
  /// of a stream the client opened before seeing it, and answered a request that raced it in
  /// the Python drain test with a connection-wide PROTOCOL_ERROR.
  func beginGracefulShutdown() {
    guard case .active = self.shutdown else { return }
    self.shutdown = .draining
    self.write(
      HTTP2Frame(
        streamID: .rootStream,
        payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil)
      ),
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
}
