import CStorefrontZlib
import NIOCore

/// Why a message could not be decompressed.
enum DecompressionError: Error {
  /// It is not valid gzip or deflate data, or it ends early.
  case corrupt
  /// It decompresses to more than the limit.
  case tooLarge
}

/// gzip and deflate through zlib, one stream per RPC and direction.
///
/// Each owns its zlib state from `init` to `deinit`, where `inflateEnd`/`deflateEnd` free it:
/// a request leaves nothing behind (the 4 KiB-per-request leak of grpc-swift-nio-transport
/// 2.9.2 was zlib state that was never ended). The state lives at a fixed address, as zlib
/// requires (it keeps a pointer back to its stream).
final class Zlib {
  private enum Direction {
    case inflate
    case deflate
  }

  private let stream: UnsafeMutablePointer<z_stream>
  private let direction: Direction

  private init?(method: CompressionMethod, direction: Direction) {
    self.stream = .allocate(capacity: 1)
    self.stream.initialize(to: z_stream())
    self.direction = direction
    // 15: a 32 KiB window, zlib's format (deflate); +16: gzip's.
    let windowBits: Int32 = method == .gzip ? 31 : 15
    let size = Int32(MemoryLayout<z_stream>.size)
    let result: Int32
    switch direction {
    case .inflate:
      result = inflateInit2_(self.stream, windowBits, ZLIB_VERSION, size)
    case .deflate:
      result = deflateInit2_(
        self.stream,
        Z_DEFAULT_COMPRESSION,
        Z_DEFLATED,
        windowBits,
        8,
        Z_DEFAULT_STRATEGY,
        ZLIB_VERSION,
        size
      )
    }
    guard result == Z_OK else {
      self.stream.deinitialize(count: 1)
      self.stream.deallocate()
      return nil
    }
  }

  /// A decompressor for `method`; nil when zlib cannot make one (out of memory).
  static func decompressor(_ method: CompressionMethod) -> Zlib? {
    Zlib(method: method, direction: .inflate)
  }

  /// A compressor for `method`; nil when zlib cannot make one (out of memory).
  static func compressor(_ method: CompressionMethod) -> Zlib? {
    Zlib(method: method, direction: .deflate)
  }

  deinit {
    switch self.direction {
    case .inflate: inflateEnd(self.stream)
    case .deflate: deflateEnd(self.stream)
    }
    self.stream.deinitialize(count: 1)
    self.stream.deallocate()
  }

  /// The decompressed `input`, at most `limit` bytes.
  /// - Throws: ``DecompressionError``.
  func decompress(_ input: ByteBuffer, limit: Int) throws(DecompressionError) -> ByteBuffer {
    inflateReset(self.stream)
    var output = ByteBuffer()
    output.reserveCapacity(min(limit, max(256, input.readableBytes * 4)))
    let outcome: DecompressionError? = input.withUnsafeReadableBytes { source in
      self.stream.pointee.next_in = UnsafeMutablePointer(
        mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self)
      )
      self.stream.pointee.avail_in = UInt32(source.count)
      while true {
        if output.writableBytes == 0 {
          output.reserveCapacity(minimumWritableBytes: max(4096, output.readableBytes))
        }
        var result: Int32 = Z_OK
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { target in
          self.stream.pointee.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
          self.stream.pointee.avail_out = UInt32(target.count)
          result = inflate(self.stream, Z_NO_FLUSH)
          return target.count - Int(self.stream.pointee.avail_out)
        }
        if output.readableBytes > limit { return .tooLarge }
        switch result {
        case Z_STREAM_END:
          return self.stream.pointee.avail_in == 0 ? nil : .corrupt
        case Z_OK:
          continue
        case Z_BUF_ERROR where self.stream.pointee.avail_out == 0:
          continue
        default:
          return .corrupt
        }
      }
    }
    self.stream.pointee.next_in = nil
    self.stream.pointee.next_out = nil
    if let outcome { throw outcome }
    return output
  }

  /// The compressed `input`, with `headroom` bytes left free in front of it.
  func compress(_ input: ByteBuffer, headroom: Int) -> ByteBuffer {
    deflateReset(self.stream)
    var output = ByteBuffer()
    let bound = Int(deflateBound(self.stream, UInt(input.readableBytes)))
    output.reserveCapacity(headroom + bound)
    output.writeRepeatingByte(0, count: headroom)
    output.moveReaderIndex(forwardBy: headroom)
    input.withUnsafeReadableBytes { source in
      self.stream.pointee.next_in = UnsafeMutablePointer(
        mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self)
      )
      self.stream.pointee.avail_in = UInt32(source.count)
      var result: Int32 = Z_OK
      while result != Z_STREAM_END {
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: 64) { target in
          self.stream.pointee.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
          self.stream.pointee.avail_out = UInt32(target.count)
          result = deflate(self.stream, Z_FINISH)
          return target.count - Int(self.stream.pointee.avail_out)
        }
        if result != Z_OK, result != Z_STREAM_END, result != Z_BUF_ERROR { break }
      }
    }
    self.stream.pointee.next_in = nil
    self.stream.pointee.next_out = nil
    return output
  }
}
