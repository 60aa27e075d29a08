import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

extension ServerStream {
  /// Whether a write may return at once or must wait for the wire.
  private enum AfterWrite {
    case proceed
    case wait
  }

  /// Writes one response part for the RPC. Returns once the stream can take more: when what
  /// waits for the wire (HTTP/2 flow control or the socket) passes the high watermark, it
  /// waits until it drops below the low one.
  /// - Throws: when the call has ended (the client reset it, a framing error or the deadline
  ///   ended it) or the task was cancelled.
  func write(_ part: ResponsePart) async throws {
    if self.eventLoop.inEventLoop {
      guard case .wait = try self.enqueue(part) else { return }
      try await self.waitUntilWritable()
      return
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<Void, any Error>) in
        self.eventLoop.execute {
          do {
            switch try self.enqueue(part) {
            case .proceed: continuation.resume()
            case .wait: self.waitForWritable(continuation)
            }
          } catch {
            continuation.resume(throwing: error)
          }
        }
      }
    } onCancel: {
      self.eventLoop.execute { self.taskWasCancelled() }
    }
  }

  /// Ends the response; a response without a status gets UNKNOWN.
  func finishOutbound() async {
    let end: @Sendable () -> Void = {
      guard self.phase != .closed else { return }
      _ = try? self.enqueue(.status(Status(code: .unknown, message: "No status was sent."), [:]))
    }
    if self.eventLoop.inEventLoop {
      end()
    } else {
      self.eventLoop.execute(end)
    }
  }

  private func waitUntilWritable() async throws {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<Void, any Error>) in
        if self.eventLoop.inEventLoop {
          self.waitForWritable(continuation)
        } else {
          self.eventLoop.execute { self.waitForWritable(continuation) }
        }
      }
    } onCancel: {
      self.eventLoop.execute { self.taskWasCancelled() }
    }
  }

  /// On the loop: resumes `continuation` once the stream is below its low watermark.
  private func waitForWritable(_ continuation: CheckedContinuation<Void, any Error>) {
    if let error = self.inboundError, self.transportEnded || self.isClosed {
      continuation.resume(throwing: error)
    } else if self.taskCancelled {
      continuation.resume(throwing: CancellationError())
    } else if self.waitingBytes < self.connection.configuration.outboundLowWatermark {
      continuation.resume()
    } else {
      self.writer = continuation
    }
  }

  /// Bytes of the response not yet on the socket.
  private var waitingBytes: Int {
    self.unwrittenBytes + self.pendingData.byteCount
  }

  /// On the loop: queues `part` for the next flush.
  /// - Throws: when the call has already ended.
  private func enqueue(_ part: ResponsePart) throws -> AfterWrite {
    guard !self.transportEnded, !self.isClosed else {
      if case .status = part { return .proceed }
      throw self.inboundError ?? RPCError(code: .cancelled, message: "The stream has closed.")
    }
    switch part {
    case .metadata(let metadata):
      guard self.phase == .idle else {
        throw RPCError(code: .internalError, message: "Response metadata was already sent.")
      }
      self.phase = .open
      switch self.web {
      case nil:
        self.pendingHeaders = .responseHeaders(
          metadata: metadata,
          compression: self.responseCompression
        )
      case let web? where web.wire.isEnveloped:
        self.pendingHeaders = web.headers(metadata: metadata, compression: self.responseCompression)
      case .some:
        // Connect unary: the status decides the HTTP status, so the headers wait for it.
        self.heldMetadata = metadata
        return .proceed
      }
      self.connection.markDirty(self)
      return .proceed

    case .message(let bytes):
      guard self.phase == .open else {
        throw RPCError(code: .internalError, message: "A message must follow the metadata.")
      }
      let message = try self.responseMessage(bytes.buffer)
      if case .connectUnary = self.wire {
        self.heldMessage = message
        return .proceed
      }
      if self.compressor == nil, self.wire != .grpcWeb(text: true) {
        self.pendingData.appendMessage(message)
        self.connection.markDirty(self)
      } else {
        self.queueData(self.encoded(self.frame(message)))
      }
      guard self.waitingBytes >= self.connection.configuration.outboundHighWatermark else {
        return .proceed
      }
      // Enough waits: put it on the wire now, and wait only if it does not go.
      self.connection.flushNow()
      return self.waitingBytes >= self.connection.configuration.outboundHighWatermark
        ? .wait : .proceed

    case .status(let status, let metadata):
      guard self.phase != .closed else { return .proceed }
      self.queueEnd(status: status, metadata: metadata)
      return .proceed
    }
  }

  /// On the loop: queues the end of the response, as the call's protocol writes it: gRPC's
  /// trailers; gRPC-Web's trailers envelope (or a trailers-only response); Connect's
  /// end-of-stream envelope; a whole Connect unary response.
  func queueEnd(status: Status, metadata: Metadata) {
    switch self.web {
    case nil:
      var trailers = HPACKHeaders()
      trailers.formTrailers(status: status, metadata: metadata, only: self.phase == .idle)
      self.pendingTrailers = trailers
    case let web?:
      switch web.wire {
      case .grpc, .grpcWeb:
        if self.phase == .idle {
          self.pendingTrailers = web.grpcWebTrailersOnly(status: status, metadata: metadata)
        } else {
          self.queueData(self.encoded(web.grpcWebTrailers(status: status, metadata: metadata)))
          self.endsWithData = true
        }
      case .connectStream:
        if self.phase == .idle {
          self.pendingHeaders = web.headers(metadata: [:], compression: nil)
        }
        self.queueData(web.connectEndOfStream(status: status, metadata: metadata))
        self.endsWithData = true
      case .connectUnary:
        let (headers, body) = web.connectUnary(
          status: status,
          leading: self.heldMetadata,
          trailing: metadata,
          message: self.heldMessage
        )
        self.heldMessage = nil
        self.pendingHeaders = headers
        self.queueData(body)
        self.endsWithData = true
      }
    }
    self.phase = .closed
    self.connection.markDirty(self)
  }

  /// On the loop: adds `bytes` to the DATA written at the next flush.
  private func queueData(_ bytes: ByteBuffer) {
    self.pendingData.append(bytes)
    self.connection.markDirty(self)
  }

  /// A response message as the call's protocol carries it: protobuf, or JSON.
  private func responseMessage(_ message: ByteBuffer) throws -> ByteBuffer {
    guard self.wire.isJSON, let json = self.web?.json else { return message }
    do {
      return try json.response(message)
    } catch {
      throw RPCError(code: .internalError, message: "The response could not be written as JSON.")
    }
  }

  /// Framed bytes as the body carries them: in base64 for gRPC-Web's text mode.
  private func encoded(_ framed: ByteBuffer) -> ByteBuffer {
    guard case .grpcWeb(text: true) = self.wire else { return framed }
    return ByteBuffer(string: Base64.encode(framed.readableBytesView))
  }

  /// `message` behind its gRPC length prefix, compressed when the response is. The prefix
  /// goes into the compressed message's headroom.
  private func frame(_ message: ByteBuffer) -> ByteBuffer {
    var message = message
    var flag: UInt8 = 0
    if let compressor = self.compressor {
      message = compressor.compress(message, headroom: 5)
      flag = 1
    }
    let length = UInt32(message.readableBytes)
    if message.readerIndex >= 5 {
      let start = message.readerIndex - 5
      message.setInteger(flag, at: start)
      message.setInteger(length, at: start + 1)
      message.moveReaderIndex(to: start)
      return message
    }
    var framed = ByteBuffer()
    framed.reserveCapacity(5 + message.readableBytes)
    framed.writeInteger(flag)
    framed.writeInteger(length)
    framed.writeImmutableBuffer(message)
    return framed
  }

  /// On the loop, at a flush: writes what is queued, in order (headers, data, trailers), to
  /// HTTP/2. Data past the first small write carries a promise that tells the stream when it
  /// has left, which is what its writer waits for.
  func emitFrames(into context: ChannelHandlerContext) {
    self.isDirty = false
    if let code = self.pendingReset {
      self.pendingReset = nil
      self.connection.write(HTTP2Frame(streamID: self.id, payload: .rstStream(code)), promise: nil)
      return
    }
    if let headers = self.pendingHeaders {
      self.pendingHeaders = nil
      let payload = HTTP2Frame.FramePayload.headers(.init(headers: headers))
      self.connection.write(HTTP2Frame(streamID: self.id, payload: payload), promise: nil)
    }
    let endsWithData = self.endsWithData
    self.endsWithData = false
    if !self.pendingData.isEmpty {
      // Taken out first: a write can complete at once (HTTP/1.1 and closed streams), and its
      // completion reads what waits.
      let data = self.pendingData
      self.pendingData = OutboundData()
      data.forEach { data, isLast in
        self.writeData(data, endStream: endsWithData && isLast, context: context)
      }
    } else if endsWithData {
      self.writeData(ByteBuffer(), endStream: true, context: context)
    }
    if let trailers = self.pendingTrailers {
      self.pendingTrailers = nil
      let payload = HTTP2Frame.FramePayload.headers(.init(headers: trailers, endStream: true))
      let frame = HTTP2Frame(streamID: self.id, payload: payload)
      if self.inboundEnded {
        self.connection.write(frame, promise: nil)
      } else {
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenSuccess { self.stopRequest() }
        self.connection.write(frame, promise: promise)
      }
    }
  }

  /// Writes one DATA frame. Data past the first small write carries a promise that tells the
  /// stream when it has left, which is what its writer waits for.
  private func writeData(_ data: ByteBuffer, endStream: Bool, context: ChannelHandlerContext) {
    let count = data.readableBytes
    let payload = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(data), endStream: endStream))
    let frame = HTTP2Frame(streamID: self.id, payload: payload)
    let counted =
      self.hasWrittenData || count > self.connection.configuration.uncountedFirstWriteBytes
    let ending = endStream && !self.inboundEnded
    self.hasWrittenData = true
    guard counted || ending else {
      self.connection.write(frame, promise: nil)
      return
    }
    if counted {
      self.unwrittenBytes += count
    }
    let promise = context.eventLoop.makePromise(of: Void.self)
    promise.futureResult.whenComplete { result in
      if counted {
        self.unwrittenBytes -= count
        self.wakeWriter()
      }
      if ending, case .success = result {
        self.stopRequest()
      }
    }
    self.connection.write(frame, promise: promise)
  }

  /// The response is complete before the request: once it has left, ask the client to stop
  /// sending (RST_STREAM NO_ERROR, RFC 9113 8.1).
  private func stopRequest() {
    guard !self.isClosed, !self.inboundEnded else { return }
    self.pendingReset = .noError
    self.connection.markDirty(self)
  }

  /// On the loop: lets a waiting writer go on once below the low watermark.
  private func wakeWriter() {
    guard let writer = self.writer,
      self.waitingBytes < self.connection.configuration.outboundLowWatermark
    else { return }
    self.writer = nil
    writer.resume()
  }
}

/// The response parts of one RPC, as grpc-swift writes them.
struct ServerTransportOutbound: ClosableRPCWriterProtocol, Sendable {
  typealias Element = RPCResponsePart<TransportBytes>

  let stream: ServerStream

  func write(_ element: Element) async throws {
    try await self.stream.write(element)
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements {
      try await self.stream.write(element)
    }
  }

  func finish() async {
    await self.stream.finishOutbound()
  }

  func finish(throwing error: any Error) async {
    await self.stream.finishOutbound()
  }
}
