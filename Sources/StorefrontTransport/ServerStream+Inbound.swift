import DequeModule
import GRPCCore
import NIOCore
import NIOHTTP2

extension ServerStream {
  /// What a read finds.
  private enum Take {
    case part(Part)
    case end
    case wait
  }

  /// On the loop: DATA for this stream. Whole messages join the queue for the RPC; a framing
  /// error ends the call with the status gRPC asks for (RESOURCE_EXHAUSTED for an over-size
  /// message, INTERNAL for the rest), not with a reset.
  func receive(data: ByteBuffer, endStream: Bool, flowControlledBytes: Int) {
    self.uncreditedBytes += flowControlledBytes
    guard !self.transportEnded, !self.isClosed else {
      self.creditWindow()
      return
    }
    do {
      switch self.wire {
      case .connectUnary:
        try self.collectUnaryBody(data)
      case .grpcWeb(text: true):
        let decoded = try self.decodeBase64(data)
        self.deframer.append(decoded)
        try self.deframeMessages()
      case .grpc, .grpcWeb, .connectStream:
        self.deframer.append(data)
        try self.deframeMessages()
      }
    } catch {
      self.endByTransport(status: Self.status(for: error))
      return
    }
    if endStream {
      self.receiveEnd()
    } else {
      self.creditWindow()
      self.wakeReader()
    }
  }

  /// Moves the deframer's whole messages to the queue for the RPC.
  private func deframeMessages() throws {
    while let next = try self.deframer.next(decompressor: self.decompressor) {
      let message = try self.requestMessage(next.message)
      self.inbound.append((.message(TransportBytes(message)), next.wireBytes))
      self.heldBytes += next.wireBytes
    }
  }

  /// A request message as the RPC reads it: protobuf, converted from JSON when the call
  /// speaks JSON.
  private func requestMessage(_ message: ByteBuffer) throws -> ByteBuffer {
    guard self.wire.isJSON, let json = self.web?.json else { return message }
    do {
      return try json.request(message)
    } catch {
      throw InboundError(
        status: Status(
          code: .invalidArgument,
          message:
            "The request is not valid JSON for \(self.descriptor.fullyQualifiedMethod): \(error)"
        )
      )
    }
  }

  /// Connect unary: adds to the body, which may be no larger than a message. Its window is
  /// given back as it arrives: the call reads nothing until the body is whole.
  private func collectUnaryBody(_ data: ByteBuffer) throws {
    guard
      self.unaryBody.readableBytes + data.readableBytes
        <= self.connection.configuration.maxRequestMessageBytes
    else {
      throw InboundError(
        status: Status(
          code: .resourceExhausted,
          message: "The request body is larger than the server accepts."
        )
      )
    }
    var data = data
    self.unaryBody.writeBuffer(&data)
  }

  /// gRPC-Web text: the bytes of the whole base64 groups received so far.
  private func decodeBase64(_ data: ByteBuffer) throws -> ByteBuffer {
    self.base64Carry += data.readableBytesView.lazy.filter { $0 > 0x20 }
    let whole = self.base64Carry.count / 4 * 4
    guard let bytes = Base64.decode(groups: self.base64Carry[..<whole]) else {
      throw InboundError(status: Status(code: .internalError, message: "The body is not base64."))
    }
    self.base64Carry.removeFirst(whole)
    return ByteBuffer(bytes: bytes)
  }

  /// On the loop: the client half-closed (END_STREAM on DATA, HEADERS or trailers).
  func receiveEnd() {
    guard !self.inboundEnded else { return }
    self.inboundEnded = true
    guard !self.transportEnded else { return }
    if case .connectUnary = self.wire {
      do {
        try self.finishUnaryBody()
      } catch {
        self.endByTransport(status: Self.status(for: error))
        return
      }
    }
    if self.deframer.hasPartialMessage || !self.base64Carry.isEmpty {
      // gRPC (and so gRPC-Web) calls a truncated message INTERNAL; Connect, invalid_argument.
      let code: Status.Code = self.wire.isConnect ? .invalidArgument : .internalError
      self.endByTransport(
        status: Status(code: code, message: "The request ended inside a message.")
      )
      return
    }
    self.wakeReader()
  }

  /// Connect unary: the whole body is the request's one message.
  private func finishUnaryBody() throws {
    var body = self.unaryBody
    self.unaryBody = ByteBuffer()
    if let decompressor = self.decompressor {
      do {
        body = try decompressor.decompress(
          body,
          limit: self.connection.configuration.maxRequestMessageBytes
        )
      } catch {
        throw MessageDeframer.Failure.decompression(error)
      }
    }
    if self.wire.isJSON, body.readableBytes == 0 {
      body = ByteBuffer(string: "{}")
    }
    let message = try self.requestMessage(body)
    self.inbound.append((.message(TransportBytes(message)), 0))
  }

  /// The status for an error of the request's bytes.
  private static func status(for error: any Error) -> Status {
    switch error {
    case let failure as MessageDeframer.Failure: Self.status(for: failure)
    case let failure as InboundError: failure.status
    default: Status(code: .internalError, message: "The request could not be read.")
    }
  }

  /// The status for a framing error.
  private static func status(for error: MessageDeframer.Failure) -> Status {
    switch error {
    case .tooLarge(let length):
      Status(
        code: .resourceExhausted,
        message: "Message has \(length) bytes, more than the server accepts."
      )
    case .decompression(.tooLarge):
      Status(
        code: .resourceExhausted,
        message: "Message decompresses to more bytes than the server accepts."
      )
    case .compressedWithoutEncoding:
      Status(
        code: .internalError,
        message: "Message is compressed, but the request has no grpc-encoding."
      )
    case .decompression(.corrupt):
      Status(code: .internalError, message: "Message could not be decompressed.")
    case .badFlag(let flag):
      Status(code: .internalError, message: "Message has an invalid compressed flag (\(flag)).")
    }
  }

  /// Gives the client back the window of bytes the RPC has consumed, or that wait in the
  /// deframer as part of a message, once there are enough to be worth a frame: the window
  /// closes while read messages wait unread, so a slow RPC stops its client.
  func creditWindow() {
    let creditable = self.uncreditedBytes - self.heldBytes
    guard creditable > 0, !self.inboundEnded, !self.isClosed,
      creditable >= self.connection.windowUpdateThreshold
    else { return }
    self.uncreditedBytes -= creditable
    self.connection.writeWindowUpdate(stream: self.id, increment: creditable)
  }

  /// On the loop: hands the next part to the RPC waiting for one.
  private func wakeReader() {
    guard let reader = self.reader else { return }
    do {
      switch try self.take() {
      case .part(let part):
        self.reader = nil
        reader.resume(returning: part)
      case .end:
        self.reader = nil
        reader.resume(returning: nil)
      case .wait:
        ()
      }
    } catch {
      self.reader = nil
      reader.resume(throwing: error)
    }
  }

  /// On the loop: the next part, the end, or that there is nothing yet.
  private func take() throws -> Take {
    if let first = self.inbound.popFirst() {
      if first.wireBytes > 0 {
        self.heldBytes -= first.wireBytes
        self.creditWindow()
      }
      return .part(first.part)
    }
    if let error = self.inboundError { throw error }
    if self.inboundEnded { return .end }
    if self.taskCancelled { throw CancellationError() }
    return .wait
  }

  /// The next request part for the RPC; nil at the end of the request stream.
  /// - Throws: the status that ended the call, or `CancellationError`.
  func nextInbound() async throws -> Part? {
    if self.eventLoop.inEventLoop {
      switch try self.take() {
      case .part(let part): return part
      case .end: return nil
      case .wait: break
      }
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<Part?, any Error>) in
        if self.eventLoop.inEventLoop {
          self.waitForInbound(continuation)
        } else {
          self.eventLoop.execute { self.waitForInbound(continuation) }
        }
      }
    } onCancel: {
      self.eventLoop.execute { self.taskWasCancelled() }
    }
  }

  /// On the loop: answers `continuation` now, or keeps it for the next part.
  private func waitForInbound(_ continuation: CheckedContinuation<Part?, any Error>) {
    do {
      switch try self.take() {
      case .part(let part): continuation.resume(returning: part)
      case .end: continuation.resume(returning: nil)
      case .wait: self.reader = continuation
      }
    } catch {
      continuation.resume(throwing: error)
    }
  }
}

/// A request whose bytes the call cannot read, and the status that says why.
struct InboundError: Error {
  let status: Status
}

/// The request parts of one RPC, as grpc-swift reads them.
struct ServerTransportInbound: AsyncSequence, Sendable {
  typealias Element = RPCRequestPart<TransportBytes>

  let stream: ServerStream

  func makeAsyncIterator() -> Iterator {
    Iterator(stream: self.stream)
  }

  struct Iterator: AsyncIteratorProtocol {
    let stream: ServerStream

    mutating func next() async throws -> Element? {
      try await self.stream.nextInbound()
    }
  }
}
