public import GRPCCore
public import NIOCore

/// The bytes of one gRPC message as ``StorefrontServerTransport`` carries them: a `ByteBuffer`
/// whose readable bytes are the message.
///
/// A buffer made by `init(repeating:count:)`, as serializers make the buffer they then fill,
/// keeps five bytes of headroom in front of the message, so that the transport writes gRPC's
/// length prefix there instead of copying the message behind a new one.
public struct TransportBytes: GRPCContiguousBytes, Hashable, Sendable {
  /// The bytes in front of a message that the length prefix takes.
  @usableFromInline
  static let prefixBytes = 5

  /// The message: the buffer's readable bytes.
  public var buffer: ByteBuffer

  /// The message in `buffer`'s readable bytes.
  @inlinable
  public init(_ buffer: ByteBuffer) {
    self.buffer = buffer
  }

  @inlinable
  public init(repeating byte: UInt8, count: Int) {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count + Self.prefixBytes)
    buffer.writeRepeatingByte(0, count: Self.prefixBytes)
    buffer.writeRepeatingByte(byte, count: count)
    buffer.moveReaderIndex(forwardBy: Self.prefixBytes)
    self.buffer = buffer
  }

  @inlinable
  public init<Bytes: Sequence>(_ sequence: Bytes) where Bytes.Element == UInt8 {
    self.buffer = ByteBuffer(bytes: sequence)
  }

  @inlinable
  public var count: Int {
    self.buffer.readableBytes
  }

  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try self.buffer.withUnsafeReadableBytes(body)
  }

  @inlinable
  public mutating func withUnsafeMutableBytes<R>(
    _ body: (UnsafeMutableRawBufferPointer) throws -> R
  ) rethrows -> R {
    try self.buffer.withUnsafeMutableReadableBytes(body)
  }
}
