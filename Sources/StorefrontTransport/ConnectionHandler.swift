import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Serves the gRPC calls of one HTTP/2 connection on its event loop. It sits behind
/// `NIOHTTP2Handler` (which parses, validates and encodes frames, acks SETTINGS and PINGs and
/// keeps HTTP/2's state machine) and in front of nothing: frames for a stream go straight to
/// its ``ServerStream``, which the call's task reads and writes in place.
///
/// What it adds to HTTP/2: gRPC's checks of each request's headers, flow-control windows
/// given back as calls consume their messages, one flush per read cycle (or per batch of
/// writes between reads), keepalive pings, the client-ping policy and graceful shutdown.
final class ConnectionHandler: ChannelDuplexHandler {
  typealias InboundIn = HTTP2Frame
  typealias OutboundIn = HTTP2Frame
  typealias OutboundOut = HTTP2Frame

  let eventLoop: any EventLoop
  let configuration: StorefrontServerTransport.Configuration
  let knownMethods: [String: MethodDescriptor]
  /// Window given back once this many bytes are owed (a quarter of the window, as grpc-go).
  let windowUpdateThreshold: Int
  var remotePeer = "<unknown>"
  var localPeer = "<unknown>"

  private(set) var context: ChannelHandlerContext?
  /// Open streams by id.
  private var streams: [HTTP2StreamID: ServerStream] = [:]
  /// The highest stream id a request has opened.
  private(set) var lastStreamID = HTTP2StreamID.rootStream
  /// Streams accepted and not yet handed to the connection's task.
  private var pendingStarts: [ServerStream] = []
  /// The connection's task, waiting for streams to run.
  private var starter: CheckedContinuation<[ServerStream]?, Never>?
  /// Streams with frames to write at the next flush.
  var dirty: [ServerStream] = []
  var isReading = false
  var flushScheduled = false
  var wroteSinceFlush = false
  /// Connection-level WINDOW_UPDATE increments written, and those HTTP/2 has applied.
  var connectionIncrementsWritten = 0
  var connectionIncrementsApplied = 0
  private(set) var isClosed = false
  /// Whether the connection's protocol is known: at once for gRPC only, after its first bytes
  /// when it may also be HTTP/1.1 (``ProtocolSniffer``).
  private(set) var protocolKnown: Bool
  /// A graceful shutdown began before the protocol was known.
  private var shutdownRequested = false
  /// The web protocols' settings, and whether this connection is HTTP/1.1; nil: gRPC only.
  private var web: WebRequest.Connection?

  // Keepalive, pings and shutdown: see ConnectionHandler+Keepalive.swift.
  var pingPolicy: ClientPingPolicy
  var readSinceKeepaliveCheck = false
  var keepaliveTimer: Scheduled<Void>?
  var keepaliveTimeoutTimer: Scheduled<Void>?
  var shutdown = ShutdownState.active
  var graceTimer: Scheduled<Void>?

  init(
    eventLoop: any EventLoop,
    configuration: StorefrontServerTransport.Configuration,
    knownMethods: [String: MethodDescriptor]
  ) {
    self.eventLoop = eventLoop
    self.configuration = configuration
    self.knownMethods = knownMethods
    self.windowUpdateThreshold = max(1, configuration.windowBytes / 4)
    self.protocolKnown = configuration.web == nil
    self.web = configuration.web.map { WebRequest.Connection(settings: $0, isHTTP1: false) }
    self.pingPolicy = ClientPingPolicy(
      minInterval: TimeAmount(configuration.minClientPingInterval),
      allowWithoutCalls: configuration.allowClientPingsWithoutCalls
    )
  }

  /// Whether any call is open.
  var hasOpenStreams: Bool { !self.streams.isEmpty }

  // MARK: Channel events

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    if context.channel.isActive, self.protocolKnown {
      self.activate(context: context)
    }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    self.context = nil
  }

  func channelActive(context: ChannelHandlerContext) {
    if self.protocolKnown {
      self.activate(context: context)
    }
    context.fireChannelActive()
  }

  private func activate(context: ChannelHandlerContext) {
    self.remotePeer = Self.describe(context.channel.remoteAddress)
    self.localPeer = Self.describe(context.channel.localAddress)
    // The connection's window starts at 65,535 bytes whatever SETTINGS say; open it to the
    // configured size at once.
    let increment = self.configuration.windowBytes - 65_535
    if increment > 0 {
      self.writeConnectionWindowUpdate(increment)
    }
    self.scheduleKeepalive()
    self.flushNow()
  }

  func channelInactive(context: ChannelHandlerContext) {
    self.connectionClosed()
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    // HTTP/2 has already answered (RST_STREAM for a stream error, GOAWAY for a connection
    // error, which `wroteFrame` sees and closes for); the connection carries on otherwise.
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? NIOHTTP2WindowUpdatedEvent {
      if event.streamID == .rootStream, let window = event.inboundWindowSize {
        self.connectionWindowChanged(to: window)
      }
    } else if let event = event as? StreamClosedEvent {
      if let stream = self.streams.removeValue(forKey: event.streamID) {
        stream.closed(reason: event.reason)
      }
      self.streamClosed()
    } else if let event = event as? ProtocolDetectedEvent {
      self.protocolKnown = true
      if let settings = self.web?.settings {
        self.web = WebRequest.Connection(settings: settings, isHTTP1: event.isHTTP1)
      }
      if context.channel.isActive {
        self.activate(context: context)
      }
      if self.shutdownRequested {
        // After the bytes that told the protocol, which follow this event: their calls open
        // first, then the connection drains.
        self.eventLoop.assumeIsolated().execute { self.beginGracefulShutdown() }
      }
    }
  }

  func triggerUserOutboundEvent(
    context: ChannelHandlerContext,
    event: Any,
    promise: EventLoopPromise<Void>?
  ) {
    if event is GracefulShutdownEvent {
      if self.protocolKnown {
        self.beginGracefulShutdown()
      } else {
        // The client's first bytes have not come: it goes away once they have, as any other
        // connection does (its first calls, already on their way, are served).
        self.shutdownRequested = true
      }
      promise?.succeed()
    } else {
      context.triggerUserOutboundEvent(event, promise: promise)
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    self.isReading = true
    self.readSinceKeepaliveCheck = true
    let frame = self.unwrapInboundIn(data)
    switch frame.payload {
    case .headers(let headers):
      self.pingPolicy.transferred()
      if let stream = self.streams[frame.streamID] {
        // Trailers from the client: they only end its half of the stream.
        if headers.endStream { stream.receiveEnd() }
      } else {
        self.open(frame.streamID, headers: headers)
      }

    case .data(let data):
      self.pingPolicy.transferred()
      let flowControlled = data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
      guard let stream = self.streams[frame.streamID] else { return }
      if case .byteBuffer(let bytes) = data.data {
        stream.receive(data: bytes, endStream: data.endStream, flowControlledBytes: flowControlled)
      }

    case .rstStream(let code):
      if let stream = self.streams[frame.streamID] {
        stream.closed(reason: code)
      }

    case .ping(let data, let ack):
      self.receivedPing(data, ack: ack)

    case .goAway, .settings, .windowUpdate, .priority, .pushPromise, .alternativeService, .origin:
      ()
    }
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    self.isReading = false
    self.handStartsToTask()
    self.flushNow()
    context.fireChannelReadComplete()
  }

  // MARK: Streams

  /// A request's HEADERS opened stream `id`: a call to run, or an answer at once.
  private func open(_ id: HTTP2StreamID, headers: HTTP2Frame.FramePayload.Headers) {
    self.lastStreamID = max(self.lastStreamID, id)
    switch RequestHead.check(
      headers.headers,
      knownMethods: self.knownMethods,
      compression: self.configuration.compression,
      web: self.web
    ) {
    case .reject(let response):
      self.answer(id, headers: response, body: nil, requestEnded: headers.endStream)

    case .respond(let response, let body):
      self.answer(id, headers: response, body: body, requestEnded: headers.endStream)

    case .accept(let head):
      let stream = ServerStream(id: id, connection: self, head: head, receivedAt: .now())
      self.streams[id] = stream
      self.pendingStarts.append(stream)
      if let body = head.body {
        stream.receive(data: body, endStream: true, flowControlledBytes: 0)
      } else if headers.endStream {
        stream.receiveEnd()
      }
    }
  }

  /// Answers stream `id` without a call: `headers` (and `body`), then, when the request has
  /// not ended, RST_STREAM NO_ERROR to stop it.
  private func answer(
    _ id: HTTP2StreamID,
    headers: HPACKHeaders,
    body: ByteBuffer?,
    requestEnded: Bool
  ) {
    let payload = HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: body == nil))
    self.write(HTTP2Frame(streamID: id, payload: payload), promise: nil)
    if let body {
      let data = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(body), endStream: true))
      self.write(HTTP2Frame(streamID: id, payload: data), promise: nil)
    }
    if !requestEnded {
      self.write(HTTP2Frame(streamID: id, payload: .rstStream(.noError)), promise: nil)
    }
    self.needsFlush()
  }

  /// Gives the streams accepted in this read cycle to the connection's task, which starts a
  /// child task for each. A stream the client reset in the same cycle never gets one: a flood
  /// of opened-and-reset streams (HTTP/2 rapid reset) starts no work.
  private func handStartsToTask() {
    guard !self.pendingStarts.isEmpty, let starter = self.starter else { return }
    let starts = self.pendingStarts.filter { !$0.isClosed && !$0.transportEnded }
    self.pendingStarts.removeAll(keepingCapacity: true)
    guard !starts.isEmpty else { return }
    self.starter = nil
    starter.resume(returning: starts)
  }

  /// On the loop, for the connection's task: resumes `continuation` with the next streams to
  /// run, or with nil once the connection has closed.
  func waitForStreams(_ continuation: CheckedContinuation<[ServerStream]?, Never>) {
    if self.isClosed {
      continuation.resume(returning: nil)
      return
    }
    self.starter = continuation
    if !self.isReading {
      self.handStartsToTask()
    }
  }

  /// A stream closed: a draining connection closes once its last stream has.
  private func streamClosed() {
    if self.shutdown != .active, self.streams.isEmpty {
      self.closeAfterWrites()
    }
  }

  private func connectionClosed() {
    guard !self.isClosed else { return }
    self.isClosed = true
    self.keepaliveTimer?.cancel()
    self.keepaliveTimeoutTimer?.cancel()
    self.graceTimer?.cancel()
    let streams = self.streams.values
    self.streams.removeAll()
    self.pendingStarts.removeAll()
    // Streams refer back to this handler: let go of every one so that nothing stays alive.
    self.dirty.removeAll()
    for stream in streams {
      stream.closed(reason: .cancel)
    }
    if let starter = self.starter {
      self.starter = nil
      starter.resume(returning: nil)
    }
  }

  private static func describe(_ address: SocketAddress?) -> String {
    switch address {
    case .v4(let v4): "ipv4:\(v4.host):\(address?.port ?? 0)"
    case .v6(let v6): "ipv6:[\(v6.host)]:\(address?.port ?? 0)"
    case .unixDomainSocket: "unix:\(address?.pathname ?? "")"
    case nil: "<unknown>"
    }
  }
}
