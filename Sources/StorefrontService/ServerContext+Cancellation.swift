import GRPCCore
import StorefrontCore

/// Whether the server has begun draining: shutdown started, in-flight calls get their grace
/// period. The one shutdown flag of a server: streams, health and the shutdown watchdog all
/// read it.
public final class DrainState: Sendable {
  /// Past 0 once draining has begun; a signal, so that tasks can wait for it.
  private let signal = ChangeSignal(head: 0)

  public init() {}

  /// Whether draining has begun.
  public var hasBegun: Bool { self.signal.head > 0 }

  /// Marks the start of draining; from now on an RPC's cancellation no longer cuts its work.
  public func begin() {
    self.signal.advance(to: 1)
  }

  /// Returns once draining has begun.
  /// - Throws: `CancellationError` when the task is cancelled first.
  public func waitUntilBegun() async throws {
    try await self.signal.wait(after: 0)
  }
}

extension ServerContext {
  /// Runs `body` in a task that is cancelled as soon as the RPC is: the one way a handler
  /// follows its call's cancellation. Every streaming RPC runs its work in this, and the use
  /// cases inside check their task's cancellation (`Task.checkCancellation()`).
  ///
  /// grpc-swift-2 flags an RPC as cancelled when the client resets the stream or the deadline
  /// passes, but it does not cancel the handler's task. Streaming handlers run inside this, so
  /// that a store read, a pending chat message or a blocked read of the request stream stops
  /// promptly instead of working for a client that is gone.
  ///
  /// The transport also flags every RPC when the server starts shutting down. With `drain`
  /// given, that flag is ignored once draining has begun: the call keeps its grace period, at
  /// the end of which the server cancels what still runs.
  /// - Throws: CANCELLED when the RPC is cancelled first; otherwise what `body` throws.
  func cancellingWithRPC<Result: Sendable>(
    unlessDraining drain: DrainState? = nil,
    _ body: @escaping @Sendable () async throws -> Result
  ) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
      group.addTask {
        try await body()
      }
      group.addTask {
        try await self.cancellation.cancelled
        return nil
      }
      defer { group.cancelAll() }
      while let outcome = try await group.next() {
        if let result = outcome { return result }
        if Self.flagCounts(unlessDraining: drain) { throw Self.rpcCancelled }
      }
      throw RPCError(code: .cancelled, message: "the RPC was cancelled")
    }
  }

  /// Whether the transport's cancellation flag means the RPC is over: always, except once
  /// draining has begun, when the transport sets it on every call and the call keeps its
  /// grace period instead.
  private static func flagCounts(unlessDraining drain: DrainState?) -> Bool {
    drain?.hasBegun != true
  }

  private static let rpcCancelled = RPCError(
    code: .cancelled,
    message: "the RPC was cancelled or its deadline passed"
  )
}
