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

  init(maxMessageBytes: Int) {
    self.maxMessageBytes = maxMessageBytes
  }

  /// Whether bytes of an incomplete message are waiting.
  var hasPartialMessage: Bool { self.buffer.readableBytes > 0 }

  /// The bytes the deframer's buffer holds, those of messages already returned included.
  var heldBytes: Int { self.buffer.writerIndex }

  /// Adds DATA to what is parsed next.
  mutating func append(_ data: ByteBuffer) {
    if self.buffer.readableBytes == 0 {
      self.buffer = data
    } else {
      // The bytes of messages already returned go first (only the start of the next message
      // moves): a ByteBuffer keeps what was read, and a client-streaming call whose messages
      // never end on a DATA frame's boundary otherwise kept all of them (a 1 GiB upload grew
      // the server by 1 GiB).
      self.buffer.discardReadBytes()
      self.buffer.writeImmutableBuffer(data)
    }
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
