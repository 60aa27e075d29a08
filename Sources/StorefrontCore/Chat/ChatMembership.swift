import Synchronization

/// One member's place in a chat room, from ``ChatHub/join(room:sender:)`` to
/// ``ChatHub/leave(_:announce:)``.
public final class ChatMembership: Sendable {
  let hub: ChatHub
  /// The room: a product id.
  public let room: String
  /// The name the member joined with.
  public let sender: String
  let memberID: UInt64
  /// What waits to be sent to this member.
  public let outbox: ChatOutbox
  /// The room's recent messages at the moment of joining, oldest first, until
  /// ``takeHistory()`` hands them out.
  public var history: [ChatRecord] { self.pendingHistory.withLock { $0 } }
  private let pendingHistory: Mutex<[ChatRecord]>
  private let limiter: Mutex<TokenBucket>
  private let hasLeft = Mutex(false)

  init(
    hub: ChatHub,
    room: String,
    sender: String,
    memberID: UInt64,
    outbox: ChatOutbox,
    history: [ChatRecord]
  ) {
    self.hub = hub
    self.room = room
    self.sender = sender
    self.memberID = memberID
    self.outbox = outbox
    self.pendingHistory = Mutex(history)
    self.limiter = Mutex(
      TokenBucket(ratePerSecond: hub.limits.messagesPerSecond, burst: hub.limits.burst)
    )
  }

  /// Hands out the history and forgets it, so that a member who stays for hours does not
  /// hold on to what it was sent when it joined (up to `historyLength` records each).
  public func takeHistory() -> [ChatRecord] {
    self.pendingHistory.withLock { history in
      var taken: [ChatRecord] = []
      swap(&taken, &history)
      return taken
    }
  }

  /// Marks the membership as ended; true only the first time.
  func markLeft() -> Bool {
    self.hasLeft.withLock { hasLeft in
      defer { hasLeft = true }
      return !hasLeft
    }
  }

  /// What ``say(_:overLimit:)`` does with a message over the rate limit; either way it is
  /// neither stored nor relayed.
  public enum OverLimit: Sendable {
    /// The member alone gets a SYSTEM notice on its stream (a `Chat` stream's messages have
    /// no answer of their own).
    case notice
    /// The call throws `resourceExhausted` with a retry delay (a `SendChatMessage`).
    case refuse
  }

  /// Says `text` in the room: validates it, applies the rate limit, stores and relays it.
  /// - Throws: ``StorefrontError`` `invalidArgument` for empty or too long text, or control
  ///   characters other than line breaks and tabs; `resourceExhausted` over the rate limit
  ///   when `overLimit` is `.refuse`; store errors.
  public func say(_ text: String, overLimit: OverLimit = .notice) async throws {
    let rule = TextRule(minimum: 1, maximum: self.hub.limits.maxTextLength)
    if let problem = rule.problem(with: text) {
      throw StorefrontError.invalidArgument(field: "text", problem)
    }
    // A member that has left or was dropped says nothing more.
    guard self.outbox.ending == nil else { return }
    guard self.limiter.withLock({ $0.take() }) else {
      let rate = self.hub.limits.messagesPerSecond
      let limit = "at most \(rate) messages per second"
      switch overLimit {
      case .notice:
        self.outbox.push(
          .notice(room: self.room, "Slow down: \(limit). Your message was not sent.")
        )
        return
      case .refuse:
        throw StorefrontError(
          code: .resourceExhausted,
          message: "too many messages: \(limit); this one was not sent",
          retryDelay: .milliseconds(rate > 0 ? Int((1_000 / rate).rounded(.up)) : 1_000)
        )
      }
    }
    try await self.hub.publish(room: self.room, sender: self.sender, text: text, kind: .message)
  }
}
