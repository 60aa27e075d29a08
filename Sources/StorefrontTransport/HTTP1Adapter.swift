import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Serves HTTP/1.1 to the client and HTTP/2 frames to the ``ConnectionHandler`` above it, so
/// that a browser's call over HTTP/1.1 runs through the very code of one over HTTP/2: its
/// deadline, flow control, backpressure, cancellation and drain.
///
/// Each request is a stream (ids 1, 3, 5, ...; one at a time, as `HTTPServerPipelineHandler`
/// below hands them over). Its head becomes HEADERS, its body DATA, its end an empty DATA
/// with END_STREAM; the response's HEADERS and DATA become the HTTP/1.1 response (chunked
/// when its length is unknown). What HTTP/1.1 has no frame for is answered here: a PING is
/// acked, a WINDOW_UPDATE opens the request's window (reading stops while it is closed), a
/// GOAWAY ends keep-alive, a RST_STREAM closes the connection (HTTP/1.1's only reset).
final class HTTP1Adapter: ChannelDuplexHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTP2Frame
  typealias OutboundIn = HTTP2Frame
  typealias OutboundOut = HTTPServerResponsePart

  private let scheme: String
  private let windowBytes: Int
  private var nextStreamID = HTTP2StreamID(1)
  /// The request being served.
  private var current: HTTP2StreamID?
  private var requestEnded = false
  private var responseStarted = false
  private var responseEnded = false
  private var keepAlive = true
  private var goingAway = false
  /// Bytes of body the client may send before the call gives window back.
  private var window = 0
  /// A read the closed window held back.
  private var readHeld = false
  /// The last write to the socket: closing waits for it.
  private var lastWrite: EventLoopFuture<Void>?
  /// In a write from the connection handler: the next request, which the pipelining handler
  /// below hands over as soon as a response ends, waits for the next loop tick, so that the
  /// connection handler never reads inside its own write.
  private var writeDepth = 0
  private var deferred: [HTTPServerRequestPart] = []

  /// - Parameters:
  ///   - isTLS: the connection is HTTPS (the requests' `:scheme`).
  ///   - windowBytes: a request's flow-control window, as HTTP/2's.
  init(isTLS: Bool, windowBytes: Int) {
    self.scheme = isTLS ? "https" : "http"
    self.windowBytes = windowBytes
  }

  /// Headers that are HTTP/1.1's own, not the request's metadata.
  private static let connectionHeaders: Set<String> = [
    "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
    "content-length",
  ]

  // MARK: Requests

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let part = self.unwrapInboundIn(data)
    guard self.writeDepth == 0, self.deferred.isEmpty else {
      self.deferred.append(part)
      if self.deferred.count == 1 {
        context.eventLoop.assumeIsolated().execute { self.deliverDeferred(context: context) }
      }
      return
    }
    self.receive(part, context: context)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    guard self.deferred.isEmpty else { return }
    context.fireChannelReadComplete()
  }

  private func deliverDeferred(context: ChannelHandlerContext) {
    let parts = self.deferred
    self.deferred.removeAll()
    for part in parts {
      self.receive(part, context: context)
    }
    context.fireChannelReadComplete()
  }

  private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
    switch part {
    case .head(let head):
      let id = self.nextStreamID
      self.nextStreamID = HTTP2StreamID(Int32(id) + 2)
      self.current = id
      self.responseStarted = false
      self.responseEnded = false
      self.keepAlive = head.isKeepAlive
      self.window = self.windowBytes
      // A request without a body ends with its head, as HEADERS with END_STREAM would.
      let length = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
      self.requestEnded = length == 0 && !head.headers.contains(name: "transfer-encoding")
      var headers = HPACKHeaders()
      headers.add(name: ":method", value: head.method.rawValue)
      headers.add(name: ":scheme", value: self.scheme)
      headers.add(name: ":path", value: head.uri)
      headers.add(name: ":authority", value: head.headers.first(name: "host") ?? "")
      for (name, value) in head.headers {
        let name = name.lowercased()
        guard !Self.connectionHeaders.contains(name) else { continue }
        headers.add(name: name, value: value)
      }
      let payload = HTTP2Frame.FramePayload.headers(
        .init(headers: headers, endStream: self.requestEnded)
      )
      context.fireChannelRead(self.wrapInboundOut(HTTP2Frame(streamID: id, payload: payload)))

    case .body(let body):
      guard let id = self.current, !self.requestEnded else { return }
      self.window -= body.readableBytes
      let payload = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(body)))
      context.fireChannelRead(self.wrapInboundOut(HTTP2Frame(streamID: id, payload: payload)))

    case .end:
      guard let id = self.current, !self.requestEnded else { return }
      self.requestEnded = true
      let payload = HTTP2Frame.FramePayload.data(
        .init(data: .byteBuffer(ByteBuffer()), endStream: true)
      )
      context.fireChannelRead(self.wrapInboundOut(HTTP2Frame(streamID: id, payload: payload)))
      if self.responseEnded {
        self.streamFinished(context: context, reason: nil)
        if self.goingAway || !self.keepAlive {
          self.closeAfterWrites(context: context)
        }
      }
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    guard error is HTTPParserError else {
      context.fireErrorCaught(error)
      return
    }
    // Bytes NIO cannot parse as HTTP/1.1: its error handler has answered 400 with
    // `Connection: close` (unless a response had begun); nothing more can be read, so the
    // connection closes, and its closing ends a request in flight.
    context.close(promise: nil)
  }

  func read(context: ChannelHandlerContext) {
    if self.current != nil, !self.requestEnded, self.window <= 0 {
      self.readHeld = true
    } else {
      context.read()
    }
  }

  // MARK: Responses

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    self.writeDepth += 1
    defer { self.writeDepth -= 1 }
    let frame = self.unwrapOutboundIn(data)
    switch frame.payload {
    case .headers(let headers) where frame.streamID == self.current:
      if !self.responseStarted {
        self.responseStarted = true
        self.send(.head(self.responseHead(headers.headers)), context: context, promise: nil)
        if headers.endStream {
          self.end(nil, context: context, promise: promise)
        } else {
          promise?.succeed()
        }
      } else {
        let trailers = HTTPHeaders(headers.headers.map { ($0.name, $0.value) })
        self.end(trailers, context: context, promise: promise)
      }

    case .data(let data) where frame.streamID == self.current:
      if case .byteBuffer(let bytes) = data.data, bytes.readableBytes > 0 {
        self.send(
          .body(.byteBuffer(bytes)),
          context: context,
          promise: data.endStream ? nil : promise
        )
      } else if !data.endStream {
        promise?.succeed()
      }
      if data.endStream {
        self.end(nil, context: context, promise: promise)
      }

    case .rstStream(let code) where frame.streamID == self.current:
      promise?.succeed()
      if code == .noError, self.responseEnded {
        // The response came before the request's end: the rest of the body is read and
        // dropped, as HTTP/1.1 cannot tell the client to stop sending.
        self.window = .max
        if self.readHeld {
          self.readHeld = false
          context.read()
        }
      } else {
        // HTTP/1.1 cannot end a response early: the connection goes.
        self.streamFinished(context: context, reason: code)
        self.closeAfterWrites(context: context)
      }

    case .windowUpdate(let increment) where frame.streamID == self.current:
      promise?.succeed()
      self.window = self.window > .max - increment ? .max : self.window + increment
      if self.readHeld, self.window > 0 {
        self.readHeld = false
        context.read()
      }

    case .ping(let data, ack: false):
      promise?.succeed()
      context.eventLoop.assumeIsolated().execute {
        let ack = HTTP2Frame(streamID: .rootStream, payload: .ping(data, ack: true))
        context.fireChannelRead(self.wrapInboundOut(ack))
      }

    case .goAway:
      // No new request: the response under way says so, and the connection closes after it.
      self.goingAway = true
      if let lastWrite = self.lastWrite, let promise {
        lastWrite.cascade(to: promise)
      } else {
        promise?.succeed()
      }

    default:
      // Frames of streams already over, SETTINGS, the connection's WINDOW_UPDATEs: HTTP/1.1
      // has nothing to say for them.
      promise?.succeed()
    }
  }

  /// Ends the response. The stream is over first when the request has ended too: the
  /// pipelining handler hands over the next request as soon as `.end` is written.
  private func end(
    _ trailers: HTTPHeaders?,
    context: ChannelHandlerContext,
    promise: EventLoopPromise<Void>?
  ) {
    self.responseEnded = true
    if self.requestEnded {
      self.streamFinished(context: context, reason: nil)
    }
    self.send(.end(trailers), context: context, promise: promise)
    if self.current == nil, self.goingAway || !self.keepAlive {
      self.closeAfterWrites(context: context)
    }
  }

  /// Writes `part`, remembering it as the write a close waits for.
  private func send(
    _ part: HTTPServerResponsePart,
    context: ChannelHandlerContext,
    promise: EventLoopPromise<Void>?
  ) {
    let written = promise ?? context.eventLoop.makePromise()
    self.lastWrite = written.futureResult
    context.write(self.wrapOutboundOut(part), promise: written)
  }

  /// The response head that HTTP/2 response headers describe.
  private func responseHead(_ headers: HPACKHeaders) -> HTTPResponseHead {
    var status = HTTPResponseStatus.ok
    var fields = HTTPHeaders()
    for (name, value, _) in headers {
      if name == ":status" {
        status = HTTPResponseStatus(statusCode: Int(value) ?? 500)
      } else if !name.hasPrefix(":") {
        fields.add(name: name, value: value)
      }
    }
    if self.goingAway || !self.keepAlive {
      fields.replaceOrAdd(name: "connection", value: "close")
    }
    return HTTPResponseHead(version: .http1_1, status: status, headers: fields)
  }

  /// Tells the connection handler the stream has closed.
  private func streamFinished(context: ChannelHandlerContext, reason: HTTP2ErrorCode?) {
    guard let id = self.current else { return }
    self.current = nil
    if self.readHeld {
      self.readHeld = false
      context.read()
    }
    context.fireUserInboundEventTriggered(StreamClosedEvent(streamID: id, reason: reason))
  }

  private func closeAfterWrites(context: ChannelHandlerContext) {
    context.flush()
    if let lastWrite = self.lastWrite {
      lastWrite.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    } else {
      context.close(promise: nil)
    }
  }
}
