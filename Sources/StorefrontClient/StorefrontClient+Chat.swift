public import GRPCCore
public import StorefrontAPI
import SwiftProtobuf

/// A member's side of a product's chat room: the room's messages as they come, and a way
/// to send. The server names the member by the signed-in user.
public struct ChatRoom: Sendable {
  /// Every message of the room in one order with its `sequence`: the recent history first,
  /// then live ones (the member's own included), joins, leaves and `SYSTEM` notices.
  public let messages: RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>
  /// The room: a product id.
  public let room: String
  let outbox: AsyncStream<String>.Continuation

  /// Queues `text` to be sent (at most ``outboxLimit`` unsent at a time).
  /// - Throws: ``StorefrontClientError`` `RESOURCE_EXHAUSTED` when the queue is full, and
  ///   `FAILED_PRECONDITION` once the chat has ended.
  public func send(_ text: String) throws {
    switch self.outbox.yield(text) {
    case .enqueued:
      return
    case .dropped:
      throw StorefrontClientError(
        code: .resourceExhausted,
        message: "\(Self.outboxLimit) messages are waiting to be sent"
      )
    case .terminated:
      throw StorefrontClientError(code: .failedPrecondition, message: "the chat has ended")
    @unknown default:
      throw StorefrontClientError(code: .failedPrecondition, message: "the chat has ended")
    }
  }

  /// Leaves the room once the queued messages are sent: the server then ends ``messages``.
  /// The room is left anyway when the body of ``StorefrontClient/chat(room:_:)`` returns.
  public func leave() {
    self.outbox.finish()
  }

  /// How many sent messages may wait for the connection.
  public static let outboxLimit = 256
}

extension StorefrontClient {
  /// Joins the chat room of a product for as long as `body` runs, then leaves it.
  public func chat<Result: Sendable>(
    room: String,
    _ body: @escaping @Sendable (ChatRoom) async throws -> Result
  ) async throws -> Result {
    let (outgoing, outbox) = AsyncStream.makeStream(
      of: String.self,
      bufferingPolicy: .bufferingOldest(ChatRoom.outboxLimit)
    )
    return try await self.call {
      try await self.products.chat { writer in
        try await writer.write(
          .with {
            $0.kind = .join
            $0.room = room
          }
        )
        for await text in outgoing {
          try await writer.write(
            .with {
              $0.kind = .message
              $0.room = room
              $0.text = text
            }
          )
        }
        try await writer.write(.with { $0.kind = .leave })
      } onResponse: { response in
        defer { outbox.finish() }
        return try await body(ChatRoom(messages: response.messages, room: room, outbox: outbox))
      }
    }
  }
}
