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

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var payload = self.unwrapInboundIn(data)
    if case .headers(var headers) = payload,
      headers.headers[canonicalForm: GRPCTimeout.headerName].contains(where: {
        GRPCTimeout(headerValue: String($0)) == nil
      })
    {
      headers.headers.remove(name: GRPCTimeout.headerName)
      payload = .headers(headers)
    }
    context.fireChannelRead(self.wrapInboundOut(payload))
  }
}
