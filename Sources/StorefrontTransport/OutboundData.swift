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

  /// The first buffer, kept out of `rest` so that a stream with one buffer waiting (every
  /// unary response) allocates no array.
  private var first: ByteBuffer?
  private var rest: [ByteBuffer] = []
  /// Whether the last buffer is one this made (small writes may be copied into it), not a
  /// caller's.
  private var lastIsOwn = false
  /// The bytes waiting, all buffers together.
  private(set) var byteCount = 0

  var isEmpty: Bool { self.first == nil }

  /// Queues `message` behind gRPC's length prefix, flagged uncompressed.
  mutating func appendMessage(_ message: ByteBuffer) {
    let length = message.readableBytes
    if 5 + length <= Self.coalescedBytes {
      self.writeOwn(bytes: 5 + length) { buffer in
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(length))
        buffer.writeImmutableBuffer(message)
      }
    } else {
      self.writeOwn(bytes: 5) { buffer in
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(length))
      }
      self.add(message)
    }
  }

  /// Queues `bytes` as they are (already framed).
  mutating func append(_ bytes: ByteBuffer) {
    if bytes.readableBytes <= Self.coalescedBytes {
      self.writeOwn(bytes: bytes.readableBytes) { $0.writeImmutableBuffer(bytes) }
    } else {
      self.add(bytes)
    }
  }

  /// Hands every buffer to `body`, in order, telling it which is the last.
  func forEach(_ body: (_ buffer: ByteBuffer, _ isLast: Bool) -> Void) {
    guard let first = self.first else { return }
    body(first, self.rest.isEmpty)
    for (index, buffer) in self.rest.enumerated() {
      body(buffer, index == self.rest.count - 1)
    }
  }

  /// Lets `write` put `count` bytes into the last buffer if it is this one's own and has
  /// room, or else into a new one.
  private mutating func writeOwn(bytes count: Int, _ write: (inout ByteBuffer) -> Void) {
    self.byteCount += count
    if self.lastIsOwn {
      if let index = self.rest.indices.last {
        if self.rest[index].readableBytes + count <= Self.coalescedBytes {
          write(&self.rest[index])
          return
        }
      } else if self.first!.readableBytes + count <= Self.coalescedBytes {
        write(&self.first!)
        return
      }
    }
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    write(&buffer)
    self.push(buffer)
    self.lastIsOwn = true
  }

  /// Queues a caller's buffer as it is.
  private mutating func add(_ buffer: ByteBuffer) {
    self.byteCount += buffer.readableBytes
    self.push(buffer)
    self.lastIsOwn = false
  }

  private mutating func push(_ buffer: ByteBuffer) {
    if self.first == nil {
      self.first = buffer
    } else {
      self.rest.append(buffer)
    }
  }
}
