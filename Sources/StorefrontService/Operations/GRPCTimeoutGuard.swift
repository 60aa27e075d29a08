import NIOCore
import NIOHPACK
import NIOHTTP2

/// Drops a `grpc-timeout` request header that gRPC's grammar does not allow before
/// grpc-swift-2 reads it: grpc-swift-2 2.4.3 stops the whole process on a negative value
/// (a precondition in `Timeout`), so one request from any client could take the server down.
/// A call without the header simply has no deadline, which is what the other malformed values
/// already get.
final class GRPCTimeoutGuard: ChannelInboundHandler, RemovableChannelHandler, Sendable {
  typealias InboundIn = HTTP2Frame.FramePayload
  typealias InboundOut = HTTP2Frame.FramePayload

  /// gRPC's `TimeoutValue TimeoutUnit`: 1 to 8 ASCII digits, then one of H M S m u n.
  static func isValid(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard (2 ... 9).contains(bytes.count), let unit = bytes.last,
      "HMSmun".utf8.contains(unit)
    else { return false }
    return bytes.dropLast().allSatisfy { (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var payload = self.unwrapInboundIn(data)
    if case .headers(var headers) = payload,
      headers.headers[canonicalForm: "grpc-timeout"].contains(where: { !Self.isValid(String($0)) })
    {
      headers.headers.remove(name: "grpc-timeout")
      payload = .headers(headers)
    }
    context.fireChannelRead(self.wrapInboundOut(payload))
  }
}
