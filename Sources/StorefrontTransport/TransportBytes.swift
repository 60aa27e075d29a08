public import GRPCCore
public import NIOCore

/// The bytes of one gRPC message as ``StorefrontServerTransport`` carries them: a `ByteBuffer`
/// whose readable bytes are the message.
public struct TransportBytes: GRPCContiguousBytes, Hashable, Sendable {
  /// The message: the buffer's readable bytes.
  public var buffer: ByteBuffer

  /// The message in `buffer`'s readable bytes.
  @inlinable
  public init(_ buffer: ByteBuffer) {
    self.buffer = buffer
  }

  @inlinable
  public init(repeating byte: UInt8, count: Int) {
    self.buffer = ByteBuffer(repeating: byte, count: count)
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
