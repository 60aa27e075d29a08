public import GRPCCore
public import StorefrontAPI
import StorefrontCore

extension ProductService {
  /// A product's chat room: the first message JOINs it; the member then gets the room's
  /// recent history and every message of the room, its own included, in the room's one order.
  /// Errors: INVALID_ARGUMENT, NOT_FOUND (room), RESOURCE_EXHAUSTED (room full, too slow),
  /// UNAVAILABLE (shutdown), CANCELLED.
  public func chat(
    request: RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>,
    response: RPCWriter<Storefront_V1_ChatMessage>,
    context: ServerContext
  ) async throws {
    // The sender is the signed-in user, whatever the client claims: nobody speaks as
    // someone else. Without a user (a direct caller of the handler), the claim is checked.
    let username = AuthContext.principal?.username
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      try await self.chatRooms.serve(request.map(ChatInput.init), username: username) {
        try await response.write(Storefront_V1_ChatMessage($0))
      }
    }
  }
}

extension ProductService {
  /// Chat for clients that cannot stream both ways: follows a room as the signed-in user,
  /// streaming what ``chat(request:response:context:)`` would. Errors: as `Chat`'s.
  public func followChat(
    request: Storefront_V1_FollowChatRequest,
    response: RPCWriter<Storefront_V1_ChatMessage>,
    context: ServerContext
  ) async throws {
    let username = AuthContext.principal?.username
    try await context.cancellingWithRPC(unlessDraining: self.drain) {
      try await self.chatRooms.follow(
        room: request.room,
        username: username,
        sender: request.sender
      ) {
        try await response.write(Storefront_V1_ChatMessage($0))
      }
    }
  }

  /// Says a message in a room the caller follows. Errors: INVALID_ARGUMENT,
  /// FAILED_PRECONDITION (not following), RESOURCE_EXHAUSTED (rate, with RetryInfo).
  public func sendChatMessage(
    request: Storefront_V1_SendChatMessageRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_SendChatMessageResponse {
    try await self.chatRooms.say(
      request.text,
      room: request.room,
      username: AuthContext.principal?.username,
      sender: request.sender
    )
    return Storefront_V1_SendChatMessageResponse()
  }
}

extension ChatInput {
  /// The domain form of a member's message.
  init(_ message: Storefront_V1_ChatMessage) {
    let kind: Kind =
      switch message.kind {
      case .join: .join
      case .message, .unspecified: .message
      case .leave: .leave
      case .system, .UNRECOGNIZED: .other
      }
    self.init(room: message.room, sender: message.sender, text: message.text, kind: kind)
  }
}
