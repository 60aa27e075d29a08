import NIOCore

/// A stream's response DATA waiting for the next flush. Small messages are copied, behind
/// their length prefixes, into a buffer of the stream's own, so that a burst of them goes out
/// as few DATA frames; a large message keeps the buffer its serializer made and is never
/// copied (its prefix goes before it, in the buffer of small ones).
///
/// Before: the prefix was written into the message's headroom, which copied the whole message
/// (grpc-swift still holds the buffer while the transport frames it, so writing to it is a
/// copy-on-write), and every message behind the first was copied into one buffer that grew
/// past malloc's mmap threshold. A download's profile had 18% of its samples in `memmove` and
/// a tenth in page faults.
struct OutboundData {
  /// Small writes share a buffer while it holds at most this many bytes (its storage then
  /// stays under 64 KiB); a larger message goes alone.
  static let coalescedBytes = 32 * 1024

  /// Buffers that take no more bytes, in order; the first kept out of `rest`, so that a
  /// stream with one buffer waiting (every unary response) allocates no array.
  private var first: ByteBuffer?
  private var rest: [ByteBuffer] = []
  /// The buffer of this one's own that small writes are copied into, after all the others.
  private var open: ByteBuffer?
  /// The bytes waiting, all buffers together.
  private(set) var byteCount = 0

  var isEmpty: Bool { self.first == nil && self.open == nil }

  /// Queues `message` behind gRPC's length prefix, flagged uncompressed.
  mutating func appendMessage(_ message: ByteBuffer) {
    let length = message.readableBytes
    let isSmall = 5 + length <= Self.coalescedBytes
    var buffer = self.takeOpen(room: isSmall ? 5 + length : 5)
    buffer.writeInteger(UInt8(0))
    buffer.writeInteger(UInt32(length))
    if isSmall {
      buffer.writeImmutableBuffer(message)
      self.open = buffer
    } else {
      self.seal(buffer)
      self.seal(message)
    }
    self.byteCount += 5 + length
  }

  /// Queues `bytes` as they are (already framed).
  mutating func append(_ bytes: ByteBuffer) {
    if bytes.readableBytes <= Self.coalescedBytes {
      var buffer = self.takeOpen(room: bytes.readableBytes)
      buffer.writeImmutableBuffer(bytes)
      self.open = buffer
    } else {
      self.seal(self.open.take())
      self.seal(bytes)
    }
    self.byteCount += bytes.readableBytes
  }

  /// Hands every buffer to `body`, in order, telling it which is the last.
  func forEach(_ body: (_ buffer: ByteBuffer, _ isLast: Bool) -> Void) {
    if let first = self.first {
      body(first, self.rest.isEmpty && self.open == nil)
    }
    for (index, buffer) in self.rest.enumerated() {
      body(buffer, index == self.rest.count - 1 && self.open == nil)
    }
    if let open = self.open {
      body(open, true)
    }
  }

  /// The open buffer, taken out (so that it is unique while written to), if it has `room`
  /// more bytes; otherwise it is sealed and a new one with that room is returned.
  private mutating func takeOpen(room: Int) -> ByteBuffer {
    if let open = self.open.take() {
      if open.readableBytes + room <= Self.coalescedBytes { return open }
      self.seal(open)
    }
    var buffer = ByteBuffer()
    buffer.reserveCapacity(room)
    return buffer
  }

  /// Queues `buffer` (when there is one) after every buffer before it, to take no more bytes.
  private mutating func seal(_ buffer: ByteBuffer?) {
    guard let buffer else { return }
    if self.first == nil {
      self.first = buffer
    } else {
      self.rest.append(buffer)
    }
  }
}
