import Synchronization

/// Wakes the tasks waiting for the change log to grow.
///
/// The log itself stays the source of truth: watchers read changes from the store, and this
/// only tells them when there is more to read, so a watcher holds no queue of its own.
public final class ChangeSignal: Sendable {
  private struct State {
    var head: Int64
    var closed = false
    var nextWaiter: UInt64 = 0
    var waiters: [UInt64: (after: Int64, continuation: CheckedContinuation<Void, any Error>)] =
      [:]
  }

  private let state: Mutex<State>

  /// - Parameter head: the newest sequence already committed.
  public init(head: Int64) {
    self.state = Mutex(State(head: head))
  }

  /// The newest sequence committed, as far as the signal has been told.
  public var head: Int64 { self.state.withLock { $0.head } }

  /// Records that changes up to `sequence` are committed and wakes who waited for them.
  public func advance(to sequence: Int64) {
    let woken = self.state.withLock { state in
      guard sequence > state.head else { return [CheckedContinuation<Void, any Error>]() }
      state.head = sequence
      let ready = state.waiters.filter { $0.value.after < sequence }
      for id in ready.keys { state.waiters[id] = nil }
      return ready.values.map(\.continuation)
    }
    for continuation in woken { continuation.resume() }
  }

  /// Returns once the head is past `sequence`.
  /// - Throws: `CancellationError` when the task is cancelled first; ``StorefrontError``
  ///   `unavailable` once ``close()`` has been called.
  public func wait(after sequence: Int64) async throws {
    let id = self.state.withLock { state in
      defer { state.nextWaiter += 1 }
      return state.nextWaiter
    }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let resumeNow = self.state.withLock { state -> Result<Void, any Error>? in
          if Task.isCancelled { return .failure(CancellationError()) }
          if state.closed { return .failure(Self.closedError) }
          if state.head > sequence { return .success(()) }
          state.waiters[id] = (sequence, continuation)
          return nil
        }
        if let resumeNow { continuation.resume(with: resumeNow) }
      }
    } onCancel: {
      let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
      waiter?.continuation.resume(throwing: CancellationError())
    }
  }

  /// Ends every wait, now and later, with ``StorefrontError`` `unavailable`: the server is
  /// shutting down and live feeds end.
  public func close() {
    let waiting = self.state.withLock { state in
      state.closed = true
      defer { state.waiters.removeAll() }
      return state.waiters.values.map(\.continuation)
    }
    for continuation in waiting { continuation.resume(throwing: Self.closedError) }
  }

  private static var closedError: StorefrontError {
    StorefrontError(code: .unavailable, message: "the server is shutting down")
  }

  /// How many tasks are waiting; for tests.
  public var waiterCount: Int { self.state.withLock { $0.waiters.count } }
}
