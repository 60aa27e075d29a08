import NIOCore
import NIOHTTP2

extension ConnectionHandler {
  /// Where a connection is in going away.
  enum ShutdownState {
    case active
    /// The first GOAWAY (last stream: the highest possible) and a PING are out; the ack
    /// tells that the client has seen the GOAWAY, so no stream it opens later can be lost.
    case announced
    /// The second GOAWAY names the last stream served; the connection closes when that
    /// stream and those before it have.
    case draining
  }

  /// The data of the server's keepalive pings.
  static let keepalivePing = HTTP2PingData(withInteger: 0x5354_4F52_4546_524B)
  /// The data of the ping that follows the first GOAWAY.
  static let shutdownPing = HTTP2PingData(withInteger: 0x5354_4F52_4547_4F41)

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
      } else if data == Self.shutdownPing, case .announced = self.shutdown {
        self.sendFinalGoAway()
      }
      return
    }
    if self.pingPolicy.receivedPing(at: .now(), hasOpenCalls: self.hasOpenStreams) {
      let goAway = HTTP2Frame(
        streamID: .rootStream,
        payload: .goAway(
          lastStreamID: .maxID,
          errorCode: .enhanceYourCalm,
          opaqueData: ByteBuffer(string: "too_many_pings")
        )
      )
      self.write(goAway, promise: nil)
      self.needsFlush()
    }
  }

  // MARK: Graceful shutdown

  /// Starts going away: a GOAWAY that still admits the streams the client may be opening,
  /// then a PING; its ack brings the GOAWAY that names the last stream. The connection closes
  /// when its streams have, or when the grace time ends.
  func beginGracefulShutdown() {
    guard case .active = self.shutdown else { return }
    self.shutdown = .announced
    self.write(
      HTTP2Frame(
        streamID: .rootStream,
        payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil)
      ),
      promise: nil
    )
    self.write(
      HTTP2Frame(streamID: .rootStream, payload: .ping(Self.shutdownPing, ack: false)),
      promise: nil
    )
    self.flushNow()
    if let grace = self.configuration.maxGraceTime {
      self.graceTimer = self.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(grace)) {
        self.closeAfterWrites()
      }
    }
  }

  private func sendFinalGoAway() {
    self.shutdown = .draining
    if self.hasOpenStreams {
      self.write(
        HTTP2Frame(
          streamID: .rootStream,
          payload: .goAway(
            lastStreamID: self.lastStreamID,
            errorCode: .noError,
            opaqueData: nil
          )
        ),
        promise: nil
      )
      self.flushNow()
    } else {
      self.closeAfterWrites()
    }
  }
}
