import NIOCore
import NIOHTTP2

/// Writing: frames go to HTTP/2 and out at one flush per read cycle (or per batch of writes
/// between reads); flow-control windows are given back as calls consume their messages.
extension ConnectionHandler {
  /// Writes `frame` to HTTP/2, to go out at the next flush.
  func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>?) {
    // Before its protocol is known a connection has no handler below to take frames.
    guard let context = self.context, !self.isClosed, self.protocolKnown else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    self.wroteSinceFlush = true
    context.write(self.wrapOutboundOut(frame), promise: promise)
  }

  /// `stream` has frames to write: they go out at the end of the read cycle, or, outside one,
  /// at a flush scheduled once for every write made until it runs.
  func markDirty(_ stream: ServerStream) {
    if !stream.isDirty {
      stream.isDirty = true
      self.dirty.append(stream)
    }
    self.needsFlush()
  }

  /// Something waits for a flush.
  func needsFlush() {
    guard !self.isReading, !self.flushScheduled else { return }
    self.flushScheduled = true
    self.eventLoop.assumeIsolated().execute {
      self.flushScheduled = false
      self.flushNow()
    }
  }

  /// Writes every dirty stream's frames and flushes the channel.
  func flushNow() {
    guard let context = self.context else { return }
    if !self.dirty.isEmpty {
      let dirty = self.dirty
      self.dirty.removeAll(keepingCapacity: true)
      for stream in dirty {
        stream.emitFrames(into: context)
      }
    }
    if self.wroteSinceFlush {
      self.wroteSinceFlush = false
      context.flush()
    }
  }

  /// Gives the client `increment` bytes of window on `stream` (the root stream: the
  /// connection).
  func writeWindowUpdate(stream: HTTP2StreamID, increment: Int) {
    self.write(
      HTTP2Frame(streamID: stream, payload: .windowUpdate(windowSizeIncrement: increment)),
      promise: nil
    )
    self.needsFlush()
  }

  /// The connection's inbound window is now `window` (HTTP/2 says so after every DATA frame,
  /// those on streams already closed included, which never reach this handler, and after
  /// every WINDOW_UPDATE it sends). The window is given back as DATA arrives, whatever the
  /// stream: what a connection can make the server hold is bounded by each stream's window,
  /// which calls give back as they read, so one slow call never stops the others (grpc-go
  /// does the same).
  func connectionWindowChanged(to window: Int) {
    let pending = self.connectionIncrementsWritten - self.connectionIncrementsApplied
    let owed = self.configuration.windowBytes - window - pending
    if owed >= self.windowUpdateThreshold {
      self.writeConnectionWindowUpdate(owed)
    }
  }

  func writeConnectionWindowUpdate(_ increment: Int) {
    self.connectionIncrementsWritten += increment
    self.writeWindowUpdate(stream: .rootStream, increment: increment)
  }

  /// Flushes, then closes once what was written has gone.
  func closeAfterWrites() {
    guard let context = self.context, !self.isClosed else { return }
    let promise = context.eventLoop.makePromise(of: Void.self)
    let goAway = HTTP2Frame(
      streamID: .rootStream,
      payload: .goAway(lastStreamID: self.lastStreamID, errorCode: .noError, opaqueData: nil)
    )
    self.write(goAway, promise: promise)
    self.flushNow()
    promise.futureResult.assumeIsolated().whenComplete { _ in
      context.close(promise: nil)
    }
  }
}

extension ConnectionHandler: NIOHTTP2FrameDelegate {
  /// HTTP/2 wrote `frame`. A GOAWAY it wrote by itself answers a connection error (a frame it
  /// could not parse, a flood it stopped): the connection is over, so close it.
  /// It also tells when a WINDOW_UPDATE of ours has been applied to the connection's window,
  /// and when HEADERS or DATA went out, so that the client's next ping is not a strike. That
  /// is when HTTP/2 writes them, not when a call hands them over: DATA the client's window
  /// holds back goes out later, and a BDP ping answers the DATA that came after the previous
  /// ping's ack (grpc-go's download in `Tests/go` drew GOAWAY too_many_pings when the
  /// hand-over counted).
  func wroteFrame(_ frame: HTTP2Frame) {
    switch frame.payload {
    case .headers, .data:
      self.pingPolicy.transferred()
    case .windowUpdate(let increment) where frame.streamID == .rootStream:
      self.connectionIncrementsApplied += increment
    case .goAway(_, let code, _) where code != .noError:
      self.eventLoop.assumeIsolated().execute {
        self.context?.close(promise: nil)
      }
    default:
      ()
    }
  }
}

/// Tells a connection to go away gracefully (``StorefrontServerTransport/beginGracefulShutdown()``).
struct GracefulShutdownEvent: Sendable {}
