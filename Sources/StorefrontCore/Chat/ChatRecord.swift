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

/// Durable chat history, and the order of every room.
///
/// The store hands out a room's sequences: ``append(_:)`` stores a message under one more
/// than the room's highest, and a message becomes visible to readers only after every
/// message below it (sequences are taken under a lock held to the commit), so a reader of
/// "everything after N" never skips one. When other processes write the same history (the
/// replicas of one database), ``chatNotices`` tells of their messages.
public protocol ChatStore: Sendable {
  /// Stores `record` under its room's next sequence; the sequence `record` carries is
  /// ignored.
  /// - Returns: the record as stored (its sequence; times at the store's precision), which
  ///   is what the room relays, so that live and history copies of a message are equal.
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

  /// Up to `limit` of the oldest messages of `room` with a sequence above `sequence`,
  /// oldest first.
  func messages(room: String, after sequence: Int64, limit: Int) async throws -> [ChatRecord]

  /// Where the store tells of messages that other processes stored; nil when this process
  /// is the only writer, and every message reaches the hub through its own ``append(_:)``.
  var chatNotices: ChatNotices? { get }
}

extension ChatStore {
  public var chatNotices: ChatNotices? { nil }
}
