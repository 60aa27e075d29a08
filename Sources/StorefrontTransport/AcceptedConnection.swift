import NIOCore

/// A connection, configured on its event loop and handed to ``StorefrontServerTransport``'s
/// listening task, which runs ``serve(handler:)`` in a child task that prefers the
/// connection's loop.
struct AcceptedConnection: Sendable {
  let channel: any Channel
  let handler: NIOLoopBound<ConnectionHandler>
  let executor: EventLoopTaskExecutor

  /// Runs each call of the connection in a child task until the connection closes. Cancelled
  /// (the server's task was), it closes the connection, which fails what its calls wait for.
  func serve(handler streamHandler: @escaping ServerStream.Handler) async {
    await withTaskCancellationHandler {
      await withDiscardingTaskGroup { group in
        while let streams = await self.nextStreams() {
          for stream in streams {
            group.addTask(executorPreference: self.executor) {
              await stream.run(handler: streamHandler)
            }
          }
        }
      }
    } onCancel: {
      self.channel.close(promise: nil)
    }
  }

  /// The streams accepted since the last call; nil once the connection has closed.
  private func nextStreams() async -> [ServerStream]? {
    await withCheckedContinuation { (continuation: CheckedContinuation<[ServerStream]?, Never>) in
      let eventLoop = self.channel.eventLoop
      if eventLoop.inEventLoop {
        self.handler.value.waitForStreams(continuation)
      } else {
        let handler = self.handler
        eventLoop.execute { handler.value.waitForStreams(continuation) }
      }
    }
  }
}
