import NIOCore

/// Splits a stream's DATA into gRPC messages: a flag byte (1: compressed), a four-byte
/// big-endian length, then the message.
struct MessageDeframer {
  /// Why the bytes are not a valid sequence of messages.
  enum Failure: Error, Equatable {
    /// A message's prefix announces more than the limit.
    case tooLarge(Int)
    /// The compressed flag is set, but the request named no `grpc-encoding`.
    case compressedWithoutEncoding
    /// A flag byte other than 0 and 1.
    case badFlag(UInt8)
    /// A compressed message that does not decompress (to at most the limit).
    case decompression(DecompressionError)
  }

  /// The largest message, in bytes, after decompression.
  let maxMessageBytes: Int
  /// Bytes received and not yet part of a message returned.
  private var buffer = ByteBuffer()
  /// Whether `buffer` is storage of the deframer's own, which nothing else holds: DATA for the
  /// message in progress is then copied into it. Otherwise `buffer` is (a slice of) the DATA
  /// received, or the storage of a message returned, and is left alone.
  private var ownsBuffer = false

  init(maxMessageBytes: Int) {
    self.maxMessageBytes = maxMessageBytes
  }

  /// Whether bytes of an incomplete message are waiting.
  var hasPartialMessage: Bool { self.buffer.readableBytes > 0 }

  /// The bytes the deframer's buffer holds, those of messages already returned included.
  var heldBytes: Int { self.buffer.writerIndex }

  /// Adds DATA to what is parsed next. A message within one DATA frame is returned as a slice
  /// of it; the bytes of one that spans frames are copied once, into storage the size of the
  /// message (once its prefix is in), so that it is never reallocated as it grows. (Growing one
  /// buffer by appending copied the bytes again at every doubling, and a `ByteBuffer` keeps
  /// what was read: a 1 GiB upload whose messages never ended on a frame's boundary once grew
  /// the server by 1 GiB.)
  mutating func append(_ data: ByteBuffer) {
    if self.buffer.readableBytes == 0 {
      self.buffer = data
      self.ownsBuffer = false
      return
    }
    if !self.ownsBuffer {
      let waiting = self.buffer.readableBytes + data.readableBytes
      var own = ByteBuffer()
      own.reserveCapacity(max(waiting, self.messageBytesInProgress ?? 0))
      own.writeImmutableBuffer(self.buffer)
      self.buffer = own
      self.ownsBuffer = true
    } else if let total = self.messageBytesInProgress, total > self.buffer.readableBytes {
      // The prefix came in pieces: room for the rest now that it is known.
      self.buffer.reserveCapacity(minimumWritableBytes: total - self.buffer.readableBytes)
    }
    self.buffer.writeImmutableBuffer(data)
  }

  /// The wire bytes (prefix included) of the message whose start is waiting, once its prefix
  /// is in and when it is within the limit.
  private var messageBytesInProgress: Int? {
    guard let length = self.buffer.getInteger(at: self.buffer.readerIndex + 1, as: UInt32.self),
      length <= self.maxMessageBytes
    else { return nil }
    return 5 + Int(length)
  }

  /// The next whole message and how many bytes of DATA it took; nil until one is complete.
  /// An over-size message fails as soon as its prefix arrives, before its bytes are buffered.
  /// - Throws: ``Failure``.
  mutating func next(decompressor: Zlib?) throws(Failure) -> (message: ByteBuffer, wireBytes: Int)?
  {
    guard let flag = self.buffer.getInteger(at: self.buffer.readerIndex, as: UInt8.self),
      let length = self.buffer.getInteger(at: self.buffer.readerIndex + 1, as: UInt32.self)
    else { return nil }
    guard flag <= 1 else { throw .badFlag(flag) }
    guard length <= self.maxMessageBytes else { throw .tooLarge(Int(length)) }
    guard self.buffer.readableBytes >= 5 + Int(length) else { return nil }
    self.buffer.moveReaderIndex(forwardBy: 5)
    let message = self.buffer.readSlice(length: Int(length))!
    // The message shares the buffer's storage now: later DATA goes elsewhere.
    self.ownsBuffer = false
    if self.buffer.readableBytes == 0 {
      self.buffer = ByteBuffer()
    }
    guard flag == 1 else { return (message, 5 + Int(length)) }
    guard let decompressor else { throw .compressedWithoutEncoding }
    do {
      let plain = try decompressor.decompress(message, limit: self.maxMessageBytes)
      return (plain, 5 + Int(length))
    } catch {
      throw .decompression(error)
    }
  }
}
