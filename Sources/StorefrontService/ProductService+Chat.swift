import GRPCCore
import StorefrontAPI
import StorefrontCore

extension ProductService {
  /// Chat: the first message JOINs a product's room; the member then gets the room's recent
  /// history and every message of the room, its own included, in the room's one order.
  ///
  /// Two tasks serve a member: this one reads what the member says, a child writes what the
  /// room says. The member leaves on LEAVE, at the end of its stream, on cancellation, and
  /// when it falls too far behind (RESOURCE_EXHAUSTED after a SYSTEM notice).
  ///
  /// Errors: INVALID_ARGUMENT, NOT_FOUND (room), RESOURCE_EXHAUSTED (room full, too slow),
  /// UNAVAILABLE (shutdown), CANCELLED.
  func chat(
    _ request: RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>,
    into response: RPCWriter<Storefront_V1_ChatMessage>,
    context: ServerContext
  ) async throws {
    var messages = request.makeAsyncIterator()
    guard let first = try await messages.next() else { return }
    guard first.kind == .join else {
      throw StorefrontError.invalidArgument(field: "kind", "the first message must be a JOIN")
    }
    let room = try Self.requireID(first.room, field: "room")
    // The sender is the signed-in user, whatever the client claims: nobody speaks as
    // someone else. Without a user (a direct caller of the handler), the claim is checked.
    let sender = try AuthContext.principal?.username ?? self.validSender(first.sender)
    _ = try await self.products.product(id: room)

    let membership = try await self.chat.join(room: room, sender: sender)
    let reader = Handoff(messages)
    do {
      try await withThrowingTaskGroup(of: Side.self) { group in
        group.addTask {
          try await Self.relay(membership, to: response)
          return .relay
        }
        group.addTask {
          var messages = reader.take()
          try await self.read(&messages, for: membership)
          return .reader
        }
        // Either side ending ends the member. When the reader ends (LEAVE, end of stream),
        // leaving ends the outbox, and the relay sends what is queued, then returns. When the
        // relay ends first (room closed, shutdown), the reader is stopped: the client may
        // never send anything again.
        let first = try await group.next()
        await self.chat.leave(membership)
        if first == .relay {
          group.cancelAll()
          _ = try? await group.next()
        } else {
          _ = try await group.next()
        }
      }
    } catch {
      await self.chat.leave(membership)
      throw error
    }
  }

  /// The two tasks that serve a chat member.
  private enum Side: Sendable {
    case relay, reader
  }

  /// Writes the history (which the membership then forgets), then the room's messages as
  /// they come, until the outbox ends.
  private static func relay(
    _ membership: ChatMembership,
    to response: RPCWriter<Storefront_V1_ChatMessage>
  ) async throws {
    for record in membership.takeHistory() {
      try await response.write(Storefront_V1_ChatMessage(record))
    }
    let outbox = membership.outbox
    while let record = await outbox.next() {
      try await response.write(Storefront_V1_ChatMessage(record))
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
  private func read(
    _ messages: inout RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>.AsyncIterator,
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
      case .message, .unspecified:
        try await membership.say(message.text)
      case .leave:
        return
      case .join:
        throw StorefrontError.invalidArgument(field: "kind", "already joined this room")
      case .system, .UNRECOGNIZED:
        throw StorefrontError.invalidArgument(field: "kind", "clients send MESSAGE or LEAVE")
      }
    }
  }

  private func validSender(_ sender: String) throws(StorefrontError) -> String {
    let limit = self.chat.limits.maxSenderLength
    let valid =
      !sender.isEmpty && sender.count <= limit
      && !sender.unicodeScalars.contains { $0.properties.generalCategory == .control }
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
