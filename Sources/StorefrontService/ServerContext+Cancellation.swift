import GRPCCore

extension ServerContext {
  /// Runs `body` in a task that is cancelled as soon as the RPC is.
  ///
  /// grpc-swift-2 flags an RPC as cancelled when the client resets the stream or the deadline
  /// passes, but it does not cancel the handler's task. Streaming handlers run inside this, so
  /// that a store read, a pending chat message or a blocked read of the request stream stops
  /// promptly instead of working for a client that is gone.
  /// - Throws: CANCELLED when the RPC is cancelled first; otherwise what `body` throws.
  func cancellingWithRPC<Result: Sendable>(
    _ body: @escaping @Sendable () async throws -> Result
  ) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
      group.addTask {
        try await body()
      }
      group.addTask {
        try await self.cancellation.cancelled
        throw RPCError(code: .cancelled, message: "the RPC was cancelled or its deadline passed")
      }
      defer { group.cancelAll() }
      guard case .some(.some(let result)) = try await group.next() else {
        throw RPCError(code: .cancelled, message: "the RPC was cancelled")
      }
      return result
    }
  }
}
