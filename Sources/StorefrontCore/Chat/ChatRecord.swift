public import Foundation

/// What a chat message is.
public enum ChatKind: Int, Hashable, Sendable {
  case join = 1
  case message = 2
  case leave = 3
  case system = 4
}

/// A message of a chat room.
public struct ChatRecord: Hashable, Sendable {
  /// The room: a product id.
  public var room: String
  public var sender: String
  public var text: String
  public var kind: ChatKind
  /// Per room, strictly increasing; 0 for notices addressed to one member.
  public var sequence: Int64
  public var sentTime: Date

  public init(
    room: String,
    sender: String,
    text: String,
    kind: ChatKind,
    sequence: Int64,
    sentTime: Date
  ) {
    self.room = room
    self.sender = sender
    self.text = text
    self.kind = kind
    self.sequence = sequence
    self.sentTime = sentTime
  }

  /// A notice from the server to one member; it has no sequence and is not stored.
  public static func notice(room: String, _ text: String) -> Self {
    Self(room: room, sender: "storefront", text: text, kind: .system, sequence: 0, sentTime: Date())
  }
}

/// Durable chat history.
public protocol ChatStore: Sendable {
  /// Stores `record`; its sequence is unique in its room.
  /// - Returns: the record as stored (times at the store's precision), which is what the room
  ///   relays, so that live and history copies of a message are equal.
  @discardableResult
  func append(_ record: ChatRecord) async throws -> ChatRecord

  /// The highest sequence stored for `room`, or 0.
  func lastSequence(room: String) async throws -> Int64

  /// Up to `limit` of the newest messages of `room` with a sequence below `sequence`,
  /// oldest first.
  func recentMessages(
    room: String,
    before sequence: Int64,
    limit: Int
  ) async throws
    -> [ChatRecord]
}
