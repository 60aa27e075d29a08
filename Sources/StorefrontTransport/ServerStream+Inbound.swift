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
    self.deframer.append(data)
    do {
      while let next = try self.deframer.next(decompressor: self.decompressor) {
        self.inbound.append((.message(TransportBytes(next.message)), next.wireBytes))
        self.heldBytes += next.wireBytes
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

  /// On the loop: the client half-closed (END_STREAM on DATA, HEADERS or trailers).
  func receiveEnd() {
    self.inboundEnded = true
    if self.deframer.hasPartialMessage, !self.transportEnded {
      self.endByTransport(
        status: Status(code: .internalError, message: "The request ended inside a message.")
      )
      return
    }
    self.wakeReader()
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
