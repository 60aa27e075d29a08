import DequeModule
import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One RPC's HTTP/2 stream: what came in and waits for the RPC, what the RPC wrote and waits
/// for the wire, and the RPC's task. Frames reach it from its ``ConnectionHandler`` and it
/// writes through that handler's channel context; no stream channel, no async bridge.
///
/// `@unchecked Sendable`: every stored `var` is read and written on `eventLoop` only. The RPC's
/// task reaches the stream through ``nextInbound()``, ``write(_:)`` and ``run(handler:)``,
/// which act in place when they run on the loop (they do, as the task prefers the loop's
/// executor) and hop there with `execute` when they do not.
final class ServerStream: @unchecked Sendable {
  typealias Part = RPCRequestPart<TransportBytes>
  typealias ResponsePart = RPCResponsePart<TransportBytes>
  typealias Handler =
    @Sendable (
      RPCStream<
        RPCAsyncSequence<RPCRequestPart<TransportBytes>, any Error>,
        RPCWriter<RPCResponsePart<TransportBytes>>.Closable
      >,
      ServerContext
    ) async -> Void

  let id: HTTP2StreamID
  let eventLoop: any EventLoop
  let connection: ConnectionHandler
  let descriptor: MethodDescriptor
  /// When the call's deadline passes, if it has one.
  let deadline: NIODeadline?
  let responseCompression: CompressionMethod?
  /// gRPC-Web or Connect: how the response is written; nil for gRPC.
  let web: WebResponse?

  /// The protocol the call speaks.
  var wire: WireProtocol { self.web?.wire ?? .grpc }

  // MARK: Inbound

  var deframer: MessageDeframer
  let decompressor: Zlib?
  /// Parts for the RPC, each with the DATA bytes it took (0 for metadata).
  var inbound: Deque<(part: Part, wireBytes: Int)>
  /// The wire bytes of the messages in `inbound`: window the client gets back as they are read.
  var heldBytes = 0
  /// Flow-controlled bytes received and not yet given back with a WINDOW_UPDATE.
  var uncreditedBytes = 0
  /// The client has half-closed (END_STREAM).
  var inboundEnded = false
  /// Reading fails with this once `inbound` is empty.
  var inboundError: (any Error)?
  /// The RPC, waiting for the next part.
  var reader: CheckedContinuation<Part?, any Error>?
  /// gRPC-Web text: the base64 digits of a group not yet complete.
  var base64Carry: [UInt8] = []
  /// Connect unary: the request body so far (the whole body is the message).
  var unaryBody = ByteBuffer()

  // MARK: Outbound

  enum OutboundPhase {
    /// Nothing sent yet.
    case idle
    /// Headers are out (or queued); messages may follow.
    case open
    /// Trailers (or a reset) are queued: the response is over.
    case closed
  }

  var phase = OutboundPhase.idle
  let compressor: Zlib?
  var pendingHeaders: HPACKHeaders?
  var pendingData = OutboundData()
  var pendingTrailers: HPACKHeaders?
  var pendingReset: HTTP2ErrorCode?
  /// The response ends with its last DATA frame (the web protocols' status is in the body),
  /// not with trailers.
  var endsWithData = false
  /// Connect unary: the response's metadata and message, held until its status, which
  /// decides the HTTP status.
  var heldMetadata: Metadata = [:]
  var heldMessage: ByteBuffer?
  /// DATA bytes handed to HTTP/2 whose write has not completed (the peer's window or the
  /// socket holds them back).
  var unwrittenBytes = 0
  /// The first small DATA write of a stream goes without a completion promise (and is not
  /// counted): a unary response then costs no promise.
  var hasWrittenData = false
  /// The RPC, waiting for `unwrittenBytes` to drain.
  var writer: CheckedContinuation<Void, any Error>?
  /// In the connection's list of streams to flush.
  var isDirty = false

  // MARK: Lifecycle

  /// HTTP/2 has closed the stream (both sides ended, or a reset either way).
  var isClosed = false
  /// The transport ended the call itself (a framing error, a deadline, a reset): what the RPC
  /// writes from now on goes nowhere.
  var transportEnded = false
  /// The RPC's task has been cancelled: every wait ends with `CancellationError`.
  var taskCancelled = false
  var cancellation: ServerContext.RPCCancellationHandle?
  /// The RPC's task while its handler runs; cancelled when the client resets the stream.
  var task: UnsafeCurrentTask?
  var deadlineTimer: Scheduled<Void>?

  init(
    id: HTTP2StreamID,
    connection: ConnectionHandler,
    head: RequestHead,
    receivedAt now: NIODeadline
  ) {
    self.id = id
    self.eventLoop = connection.eventLoop
    self.connection = connection
    self.descriptor = head.descriptor
    // A timeout of more than ten years is no deadline to keep on the wire (gRPC's largest,
    // 99999999H, would overflow a nanosecond clock); grpc-swift still keeps it for the RPC.
    self.deadline = head.timeout.flatMap { timeout in
      timeout < .seconds(10 * 365 * 86_400) ? now + TimeAmount(timeout) : nil
    }
    self.responseCompression = head.responseCompression
    self.web = head.web
    self.deframer = MessageDeframer(
      maxMessageBytes: connection.configuration.maxRequestMessageBytes
    )
    self.decompressor = head.requestCompression.flatMap(Zlib.decompressor)
    self.compressor = head.responseCompression.flatMap(Zlib.compressor)
    self.inbound = [(.metadata(head.metadata), 0)]
  }

  /// Runs `handler` for this stream in the current task (the connection's child task for it).
  /// A stream reset before its turn runs nothing; a deadline already passed answers
  /// DEADLINE_EXCEEDED and runs nothing.
  func run(handler: Handler) async {
    if !self.eventLoop.inEventLoop {
      await self.hopToLoop()
    }
    guard self.prepareToRun() else { return }
    await withServerContextRPCCancellationHandle { handle in
      let context: ServerContext
      if self.eventLoop.inEventLoop {
        context = withUnsafeCurrentTask { task in self.attach(handle: handle, task: task) }
      } else {
        // Not on the loop after all: no task to cancel, the handle alone is told.
        context = await self.onLoop { self.attach(handle: handle, task: nil) }
      }
      let stream = RPCStream(
        descriptor: self.descriptor,
        inbound: RPCAsyncSequence(wrapping: ServerTransportInbound(stream: self)),
        outbound: RPCWriter.Closable(wrapping: ServerTransportOutbound(stream: self))
      )
      await handler(stream, context)
      if self.eventLoop.inEventLoop {
        self.detach()
      } else {
        await self.onLoop { self.detach() }
      }
    }
  }

  /// On the loop: whether the handler should run; answers a passed deadline itself.
  private func prepareToRun() -> Bool {
    guard !self.isClosed, !self.transportEnded else { return false }
    if let deadline = self.deadline {
      guard deadline > .now() else {
        self.endByTransport(status: Status(code: .deadlineExceeded, message: "deadline passed"))
        return false
      }
      self.deadlineTimer = self.eventLoop.scheduleTask(deadline: deadline) {
        self.deadlineExpired()
      }
    }
    return true
  }

  /// On the loop: records the RPC's cancellation handle and task; the context it runs with.
  private func attach(
    handle: ServerContext.RPCCancellationHandle,
    task: UnsafeCurrentTask?
  )
    -> ServerContext
  {
    self.cancellation = handle
    self.task = task
    if self.isClosed || self.transportEnded {
      self.cancelRPC()
    }
    return ServerContext(
      descriptor: self.descriptor,
      remotePeer: self.connection.remotePeer,
      localPeer: self.connection.localPeer,
      cancellation: handle
    )
  }

  /// On the loop, when the handler has returned: the task is no longer ours to cancel, and a
  /// response the handler left open is ended.
  private func detach() {
    self.task = nil
    if self.phase != .closed, !self.transportEnded {
      self.endByTransport(
        status: Status(code: .unknown, message: "The RPC ended without a status.")
      )
    }
  }

  /// Cancels the RPC: its handle (what grpc-swift and Storefront's handlers watch), its task
  /// (so that any `await` in the handler ends), and every wait in this stream.
  func cancelRPC() {
    self.cancellation?.cancel()
    self.task?.cancel()
    self.task = nil
  }

  /// On the loop: the RPC's task was cancelled while it waited here.
  func taskWasCancelled() {
    self.taskCancelled = true
    if let reader = self.reader {
      self.reader = nil
      reader.resume(throwing: CancellationError())
    }
    if let writer = self.writer {
      self.writer = nil
      writer.resume(throwing: CancellationError())
    }
  }

  /// How long after the deadline a response still stuck behind data the client has not read
  /// is reset: a status queued behind that data would never arrive if the client has stopped
  /// reading. One that reads gets there first, or its own deadline ends the call; reset at
  /// once, grpc-go's client saw a message cut off (`INTERNAL: unexpected EOF`) instead of
  /// its DEADLINE_EXCEEDED.
  static let stuckResponseGrace = TimeAmount.seconds(1)

  /// The deadline passed with the call still open on the wire: the call answers
  /// DEADLINE_EXCEEDED now, after what it has written; a response stuck behind data the client
  /// does not read is reset ``stuckResponseGrace`` later.
  private func deadlineExpired() {
    self.deadlineTimer = nil
    guard !self.isClosed else { return }
    if self.phase != .closed {
      self.endByTransport(status: Status(code: .deadlineExceeded, message: "deadline passed"))
    }
    if self.unwrittenBytes > 0 || !self.pendingData.isEmpty {
      self.deadlineTimer = self.eventLoop.scheduleTask(in: Self.stuckResponseGrace) {
        self.deadlineTimer = nil
        self.reset(.cancel, error: RPCError(code: .deadlineExceeded, message: "deadline passed"))
      }
    }
  }

  /// Ends the call from the transport's side: `status` goes out now (after what the RPC already
  /// wrote), the RPC's later writes go nowhere, its reads fail with `status`, and it is
  /// cancelled.
  func endByTransport(status: Status) {
    guard !self.transportEnded, !self.isClosed else { return }
    self.transportEnded = true
    if self.phase != .closed {
      self.queueEnd(status: status, metadata: [:])
    }
    self.fail(RPCError(code: RPCError.Code(status.code) ?? .unknown, message: status.message))
  }

  /// Resets the stream with `code` (nothing queued for it goes out), fails its waits with
  /// `error` and cancels the RPC.
  func reset(_ code: HTTP2ErrorCode, error: RPCError) {
    guard !self.isClosed else { return }
    self.transportEnded = true
    self.phase = .closed
    self.pendingHeaders = nil
    self.pendingData = OutboundData()
    self.pendingTrailers = nil
    self.endsWithData = false
    self.pendingReset = code
    self.connection.markDirty(self)
    self.fail(error)
  }

  /// HTTP/2 closed the stream; `reason` is set when it was reset (by the client or for an
  /// error) rather than ended by both sides.
  func closed(reason: HTTP2ErrorCode?) {
    guard !self.isClosed else { return }
    self.isClosed = true
    self.deadlineTimer?.cancel()
    self.deadlineTimer = nil
    self.pendingHeaders = nil
    self.pendingData = OutboundData()
    self.pendingTrailers = nil
    self.endsWithData = false
    self.pendingReset = nil
    if let reason {
      self.transportEnded = true
      self.fail(RPCError(code: .cancelled, message: "The stream was reset (\(reason))."))
    } else if self.phase != .closed {
      self.fail(RPCError(code: .cancelled, message: "The stream closed."))
    }
  }

  /// Fails the waits of the RPC with `error` and cancels it.
  private func fail(_ error: RPCError) {
    if self.inboundError == nil {
      self.inboundError = error
    }
    self.inbound.removeAll()
    self.heldBytes = 0
    if let reader = self.reader {
      self.reader = nil
      reader.resume(throwing: error)
    }
    if let writer = self.writer {
      self.writer = nil
      writer.resume(throwing: error)
    }
    self.cancelRPC()
  }

  /// Suspends until the task runs on the loop again.
  private func hopToLoop() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      self.eventLoop.execute { continuation.resume() }
    }
  }

  /// Runs `body` on the loop and returns its result.
  private func onLoop<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
      self.eventLoop.execute { continuation.resume(returning: body()) }
    }
  }
}
