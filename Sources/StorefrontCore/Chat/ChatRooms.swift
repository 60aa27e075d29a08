import Synchronization

/// The chat use case: a member's stream from its first message, which joins a product's
/// room, to its leaving. The member then gets the room's recent history and every message of
/// the room, its own included, in the room's one order.
public struct ChatRooms: Sendable {
  let hub: ChatHub
  let products: any ProductStore
  /// The members that follow a room (``follow(room:username:sender:send:)``), for
  /// ``say(_:room:username:sender:)`` to speak through.
  private let followers = ChatFollowers()

  /// - Parameters:
  ///   - hub: the live rooms.
  ///   - products: rooms are products, and must exist to be joined.
  public init(hub: ChatHub, products: any ProductStore) {
    self.hub = hub
    self.products = products
  }

  /// Serves one member. Two tasks serve it: this one reads what the member says, a child
  /// writes what the room says through `send`. The member leaves on LEAVE, at the end of its
  /// stream, on cancellation, and when it falls too far behind.
  /// - Parameters:
  ///   - incoming: what the member sends.
  ///   - username: the signed-in user, who speaks under that name whatever the messages
  ///     claim; nil when nobody is signed in, and the claimed name is checked instead.
  ///   - send: delivers one message to the member.
  /// - Throws: ``StorefrontError`` `invalidArgument` (a first message that is not a JOIN, a
  ///   bad room or name, a bad message), `notFound` (the room), `resourceExhausted` (room
  ///   full, member too slow), `unavailable` (shutdown); whatever `incoming` and `send`
  ///   throw.
  public func serve<Incoming: AsyncSequence<ChatInput, any Error>>(
    _ incoming: Incoming,
    username: String?,
    send: @escaping @Sendable (ChatRecord) async throws -> Void
  ) async throws {
    // An existential, so that handing the iterator to a child task captures no generic type.
    var messages: any AsyncIteratorProtocol<ChatInput, any Error> = incoming.makeAsyncIterator()
    guard let first = try await messages.next() else { return }
    guard first.kind == .join else {
      throw StorefrontError.invalidArgument(field: "kind", "the first message must be a JOIN")
    }
    let (room, sender) = try self.validMember(
      room: first.room,
      username: username,
      sender: first.sender
    )
    _ = try await self.products.product(id: room)

    let membership = try await self.hub.join(room: room, sender: sender)
    let reader = Handoff(messages)
    do {
      try await withThrowingTaskGroup(of: Side.self) { group in
        group.addTask {
          try await Self.relay(membership, to: send)
          return .relay
        }
        group.addTask {
          var messages = reader.take()
          try await Self.read(&messages, for: membership)
          return .reader
        }
        // Either side ending ends the member. When the reader ends (LEAVE, end of stream),
        // leaving ends the outbox, and the relay sends what is queued, then returns. When the
        // relay ends first (room closed, shutdown), the reader is stopped: the client may
        // never send anything again.
        let first = try await group.next()
        await self.hub.leave(membership)
        if first == .relay {
          group.cancelAll()
          _ = try? await group.next()
        } else {
          _ = try await group.next()
        }
      }
    } catch {
      await self.hub.leave(membership)
      throw error
    }
  }

  /// Serves one follower: chat for a client that cannot stream both ways (a browser). It
  /// joins `room` as `username` (or, when nobody is signed in, the checked `sender`) and
  /// sends what a ``serve(_:username:send:)`` member gets, history first, through `send`,
  /// until the task is cancelled, `send` throws, the room closes or the server shuts down;
  /// then it leaves. What the follower says goes through ``say(_:room:username:sender:)``.
  /// - Throws: as ``serve(_:username:send:)``.
  public func follow(
    room: String,
    username: String?,
    sender: String,
    send: @escaping @Sendable (ChatRecord) async throws -> Void
  ) async throws {
    let (room, sender) = try self.validMember(room: room, username: username, sender: sender)
    _ = try await self.products.product(id: room)
    let membership = try await self.hub.join(room: room, sender: sender)
    self.followers.add(membership)
    defer { self.followers.remove(membership) }
    do {
      try await Self.relay(membership, to: send)
    } catch {
      await self.hub.leave(membership)
      throw error
    }
    await self.hub.leave(membership)
  }

  /// Says `text` in `room` through the caller's ``follow(room:username:sender:send:)``
  /// (its latest, when it follows the room more than once): the message reaches the room,
  /// the caller's own stream included, like one said on a ``serve(_:username:send:)`` stream.
  /// - Throws: ``StorefrontError`` `invalidArgument` (room or name; the text, once the
  ///   membership is found), `failedPrecondition` when the caller follows no such room here,
  ///   `resourceExhausted` over the rate limit (nothing is said); store errors.
  public func say(_ text: String, room: String, username: String?, sender: String) async throws {
    let (room, sender) = try self.validMember(room: room, username: username, sender: sender)
    guard let membership = self.followers.latest(room: room, sender: sender) else {
      throw StorefrontError(
        code: .failedPrecondition,
        message: "'\(sender)' does not follow room '\(room)' on this server: call FollowChat first"
      )
    }
    try await membership.say(text, overLimit: .refuse)
  }

  /// The room and the name a member joins under: the signed-in user, or the claimed name.
  private func validMember(
    room: String,
    username: String?,
    sender: String
  ) throws(StorefrontError) -> (room: String, sender: String) {
    let room = try Identifier.validate(room, field: "room")
    if let username { return (room, username) }
    return (room, try self.validSender(sender))
  }

  /// The two tasks that serve a chat member.
  private enum Side: Sendable {
    case relay, reader
  }

  /// Sends the history (which the membership then forgets), then the room's messages as
  /// they come, until the outbox ends.
  private static func relay(
    _ membership: ChatMembership,
    to send: @Sendable (ChatRecord) async throws -> Void
  ) async throws {
    for record in membership.takeHistory() {
      try await send(record)
    }
    let outbox = membership.outbox
    while let record = await outbox.next() {
      try await send(record)
    }
    switch outbox.ending {
    case .tooSlow:
      throw StorefrontError(
        code: .resourceExhausted,
        message: "the member fell too far behind the room and was disconnected"
      )
    case .shutdown:
      throw StorefrontError(code: .unavailable, message: "the server is shutting down")
    case .left, nil:
      return
    }
  }

  /// Reads what the member says until it leaves or its stream ends.
  private static func read(
    _ messages: inout any AsyncIteratorProtocol<ChatInput, any Error>,
    for membership: ChatMembership
  ) async throws {
    while let message = try await messages.next() {
      if !message.room.isEmpty, message.room != membership.room {
        throw StorefrontError.invalidArgument(
          field: "room",
          "a stream stays in the room it joined ('\(membership.room)')"
        )
      }
      switch message.kind {
      case .message:
        try await membership.say(message.text)
      case .leave:
        return
      case .join:
        throw StorefrontError.invalidArgument(field: "kind", "already joined this room")
      case .other:
        throw StorefrontError.invalidArgument(field: "kind", "clients send MESSAGE or LEAVE")
      }
    }
  }

  private func validSender(_ sender: String) throws(StorefrontError) -> String {
    let limit = self.hub.limits.maxSenderLength
    let valid =
      !sender.isEmpty && sender.count <= limit
      && !TextRule.containsControlCharacters(sender, allowingLineBreaks: false)
      && sender.unicodeScalars.contains { !$0.properties.isWhitespace }
    guard valid else {
      throw StorefrontError.invalidArgument(
        field: "sender",
        "must be 1-\(limit) characters, not all blank, without control characters"
      )
    }
    return sender
  }
}

/// The memberships of followers, by room and name.
private final class ChatFollowers: Sendable {
  private struct Key: Hashable {
    var room: String
    var sender: String
  }

  private let members = Mutex<[Key: [ChatMembership]]>([:])

  func add(_ membership: ChatMembership) {
    let key = Key(room: membership.room, sender: membership.sender)
    self.members.withLock { $0[key, default: []].append(membership) }
  }

  func remove(_ membership: ChatMembership) {
    let key = Key(room: membership.room, sender: membership.sender)
    self.members.withLock { members in
      members[key]?.removeAll { $0 === membership }
      if members[key]?.isEmpty == true { members[key] = nil }
    }
  }

  /// The latest membership of `sender` in `room` that has not ended.
  func latest(room: String, sender: String) -> ChatMembership? {
    self.members.withLock { members in
      members[Key(room: room, sender: sender)]?.last { $0.outbox.ending == nil }
    }
  }
}

/// Moves a value that is not `Sendable` into exactly one child task.
///
/// `@unchecked Sendable` without a lock: safety comes from ownership, not locking. The creator
/// gives the value up when it makes the handoff, and exactly one task calls `take()`.
struct Handoff<Value>: @unchecked Sendable {
  private let value: Value

  init(_ value: Value) {
    self.value = value
  }

  func take() -> Value {
    self.value
  }
}
