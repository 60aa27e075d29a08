import Synchronization

/// Groups of subscribers kept in memory, each group with its own sequence: what is published to
/// a group goes to every subscriber of it, in one order. A subscriber's queue holds at most 256
/// messages and drops the oldest past that, silently (Storefront instead disconnects a chat
/// member that falls 256 behind, and its watchers read the change log, with no queue): under
/// overload the baseline loses deliveries, which the bench then reports as fewer deliveries/s.
/// The baseline's chat rooms are groups named by room; its change feed is one group.
final class BaselineFanOut<Message: Sendable>: Sendable {
  /// One subscriber's view: what is published to its group from the moment it subscribed.
  struct Subscription: Sendable {
    let messages: AsyncStream<Message>
    fileprivate let continuation: AsyncStream<Message>.Continuation

    /// Ends `messages` after what it has buffered.
    func finish() {
      self.continuation.finish()
    }
  }

  private struct Group {
    var sequence: Int64 = 0
    var subscribers: [Int: AsyncStream<Message>.Continuation] = [:]
  }

  private struct State {
    var nextSubscriber = 0
    var groups: [String: Group] = [:]
  }

  private let state = Mutex(State())

  /// Runs `body` subscribed to `group`, and unsubscribes when it returns or throws.
  func subscribe<Result>(
    to group: String,
    _ body: (Subscription) async throws -> Result
  ) async rethrows -> Result {
    let (messages, continuation) = AsyncStream.makeStream(
      of: Message.self,
      bufferingPolicy: .bufferingNewest(256)
    )
    let subscriber = self.state.withLock { state in
      state.nextSubscriber += 1
      state.groups[group, default: Group()].subscribers[state.nextSubscriber] = continuation
      return state.nextSubscriber
    }
    defer {
      self.state.withLock { state in
        state.groups[group]?.subscribers[subscriber] = nil
        if state.groups[group]?.subscribers.isEmpty == true { state.groups[group] = nil }
      }
      continuation.finish()
    }
    return try await body(Subscription(messages: messages, continuation: continuation))
  }

  /// Gives the next sequence of `group` to `message` and sends what it makes to every
  /// subscriber of `group`; returns that sequence (0: `group` has no subscriber, nothing sent).
  @discardableResult
  func publish(to group: String, _ message: (_ sequence: Int64) -> Message) -> Int64 {
    self.state.withLock { state in
      guard var current = state.groups[group] else { return 0 }
      current.sequence += 1
      let sent = message(current.sequence)
      for subscriber in current.subscribers.values { subscriber.yield(sent) }
      state.groups[group] = current
      return current.sequence
    }
  }
}
