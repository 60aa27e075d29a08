import NIOCore

/// Tells HTTP/2 from HTTP/1.1 by a connection's first bytes (HTTP/2 starts with its preface),
/// so that one port serves both: gRPC and browsers over HTTP/2, browsers over HTTP/1.1. It
/// adds the handlers of the protocol it finds, tells the ``ConnectionHandler`` which
/// (``ProtocolDetectedEvent``), passes on the bytes it held and leaves the pipeline.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer

  /// The client connection preface of HTTP/2 (RFC 9113 3.4).
  private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

  /// Adds the handlers of a protocol after this one: true for HTTP/1.1.
  private let configure: (_ isHTTP1: Bool, _ context: ChannelHandlerContext) throws -> Void
  /// The bytes read while they could still be the preface.
  private var held: ByteBuffer?

  init(configure: @escaping (_ isHTTP1: Bool, _ context: ChannelHandlerContext) throws -> Void) {
    self.configure = configure
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var bytes = self.unwrapInboundIn(data)
    if var held = self.held {
      held.writeBuffer(&bytes)
      bytes = held
    }
    let count = min(bytes.readableBytes, Self.preface.count)
    let isPreface = bytes.readableBytesView.prefix(count).elementsEqual(Self.preface.prefix(count))
    if isPreface, count < Self.preface.count {
      self.held = bytes
      return
    }
    self.held = nil
    do {
      try self.configure(!isPreface, context)
    } catch {
      context.fireErrorCaught(error)
      context.close(promise: nil)
      return
    }
    context.fireUserInboundEventTriggered(ProtocolDetectedEvent(isHTTP1: !isPreface))
    context.fireChannelRead(self.wrapInboundOut(bytes))
    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
  }
}

/// The connection speaks HTTP/1.1 (`isHTTP1`) or HTTP/2; sent up the pipeline once known.
struct ProtocolDetectedEvent: Sendable {
  let isHTTP1: Bool
}
