import DequeModule
import Synchronization

/// The bounded queue of messages waiting to be sent to one chat member.
///
/// The room pushes without waiting; the member's stream pulls. When a member falls so far
/// behind that the queue is full, the queue drops what it holds, keeps one notice and ends:
/// a slow member never makes the server's memory grow. One task consumes an outbox: a second
/// concurrent ``next()`` is not supported.
public final class ChatOutbox: Sendable {
  /// Why an outbox ended.
  public enum Ending: Hashable, Sendable {
    /// The member left, or its stream ended.
    case left
    /// The member fell behind by more than the outbox holds.
    case tooSlow
    /// The server is shutting down.
    case shutdown
  }

  private struct State {
    var queue: Deque<ChatRecord> = []
    var waiter: CheckedContinuation<ChatRecord?, Never>?
    var ending: Ending?
  }

  private let capacity: Int
  private let state = Mutex(State())

  init(capacity: Int) {
    self.capacity = max(1, capacity)
  }

  /// Why the outbox ended, or nil while it is open.
  public var ending: Ending? {
    self.state.withLock { $0.ending }
  }

  /// Queues `record`, or ends the outbox with `.tooSlow` when it is full.
  /// - Returns: false when the outbox has ended (now or before).
  @discardableResult
  func push(_ record: ChatRecord) -> Bool {
    let (waiter, accepted): (CheckedContinuation<ChatRecord?, Never>?, Bool) = self.state.withLock {
      state in
      guard state.ending == nil else { return (nil, false) }
      if let waiter = state.waiter {
        state.waiter = nil
        return (waiter, true)
      }
      if state.queue.count >= self.capacity {
        state.queue.removeAll()
        state.queue.append(
          .notice(
            room: record.room,
            "You fell more than \(self.capacity) messages behind and were disconnected."
          )
        )
        state.ending = .tooSlow
        return (nil, false)
      }
      state.queue.append(record)
      return (nil, true)
    }
    waiter?.resume(returning: record)
    return accepted
  }

  /// Ends the outbox; messages already queued are still delivered, then `notice` if given.
  func finish(_ ending: Ending, notice: ChatRecord? = nil) {
    let waiter: CheckedContinuation<ChatRecord?, Never>? = self.state.withLock { state in
      guard state.ending == nil else { return nil }
      state.ending = ending
      if let notice {
        if let waiter = state.waiter {
          state.waiter = nil
          state.queue.append(notice)
          return waiter
        }
        state.queue.append(notice)
        return nil
      }
      defer { state.waiter = nil }
      return state.waiter
    }
    guard let waiter else { return }
    // A waiter means the queue was empty: hand it the notice, if any, or the end.
    let next: ChatRecord? = self.state.withLock { $0.queue.popFirst() }
    waiter.resume(returning: next)
  }

  /// The next message, waiting for one; nil once the outbox has ended and is drained, or when
  /// the calling task is cancelled.
  public func next() async -> ChatRecord? {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<ChatRecord?, Never>) in
        let immediate: ChatRecord?? = self.state.withLock { state in
          if let record = state.queue.popFirst() {
            // Drained: give the storage back. A burst (a room's join storm) would otherwise
            // leave every member holding a queue's worth of capacity for as long as it stays.
            if state.queue.isEmpty { state.queue = [] }
            return .some(record)
          }
          if state.ending != nil || Task.isCancelled {
            return .some(nil)
          }
          state.waiter = continuation
          return .none
        }
        if let immediate {
          continuation.resume(returning: immediate)
        }
      }
    } onCancel: {
      let waiter = self.state.withLock { state in
        defer { state.waiter = nil }
        return state.waiter
      }
      waiter?.resume(returning: nil)
    }
  }

  /// How many messages are waiting.
  public var count: Int {
    self.state.withLock { $0.queue.count }
  }
}
