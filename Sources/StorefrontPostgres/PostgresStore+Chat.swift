import Foundation
import Logging
import PostgresNIO
public import StorefrontCore

extension PostgresStore: ChatStore {
  /// The class of the advisory locks that order a room's messages (the second key is the
  /// room's hash): "CHAT".
  static let chatLockClass: Int32 = 0x4348_4154

  /// Takes the room's lock, held to the commit, before the room's next sequence is read:
  /// the next message of the room, on any replica, waits for this one's commit, so
  /// sequences become visible in order and none is skipped by a reader of "after N". The
  /// commit notifies every replica (``ChangeFollower``).
  @discardableResult
  public func append(_ record: ChatRecord) async throws -> ChatRecord {
    var stored = record
    stored.sentTime = Self.date(fromDatabase: Self.databaseTime(record.sentTime))
    let logger = self.logger
    stored.sequence = try await self.writeUnlogged { connection in
      try await Self.lockRoom(record.room, connection, logger: logger)
      let rows = try await connection.rows(
        """
        WITH message AS (
          INSERT INTO chat_message (room, sequence, sender, text, kind, sent_time)
          SELECT \(record.room), COALESCE(MAX(sequence), 0) + 1, \(record.sender),
            \(record.text), \(record.kind.rawValue), \(Self.databaseTime(record.sentTime))
          FROM chat_message WHERE room = \(record.room)
          RETURNING sequence
        )
        SELECT sequence, pg_notify(\(ChangeFollower.chatChannel), sequence || ' ' || \(record.room))
        FROM message
        """,
        logger: logger
      )
      return try rows.first?["sequence"].decode(Int64.self) ?? 0
    }
    return stored
  }

  /// Takes the lock that orders the messages of `room`, to the end of the transaction.
  static func lockRoom(
    _ room: String,
    _ connection: PostgresConnection,
    logger: Logger
  ) async throws {
    try await connection.run(
      "SELECT pg_advisory_xact_lock(\(Self.chatLockClass), hashtext(\(room)))",
      logger: logger
    )
  }

  public var chatNotices: ChatNotices? { self.notices }

  public func lastSequence(room: String) async throws -> Int64 {
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows(
        "SELECT MAX(sequence) AS sequence FROM chat_message WHERE room = \(room)",
        logger: logger
      ).first?["sequence"].decode(Int64?.self) ?? 0
    }
  }

  public func recentMessages(
    room: String,
    before sequence: Int64,
    limit: Int
  ) async throws
    -> [ChatRecord]
  {
    try await self.chatRecords(
      """
      SELECT * FROM chat_message WHERE room = \(room) AND sequence < \(sequence)
      ORDER BY sequence DESC LIMIT \(max(0, limit))
      """
    ).reversed()
  }

  public func messages(
    room: String,
    after sequence: Int64,
    limit: Int
  ) async throws -> [ChatRecord] {
    try await self.chatRecords(
      """
      SELECT * FROM chat_message WHERE room = \(room) AND sequence > \(sequence)
      ORDER BY sequence LIMIT \(max(0, limit))
      """
    )
  }

  /// The chat records `query` selects.
  private func chatRecords(_ query: PostgresQuery) async throws -> [ChatRecord] {
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows(query, logger: logger).map { row in
        ChatRecord(
          room: try row["room"].decode(String.self),
          sender: try row["sender"].decode(String.self),
          text: try row["text"].decode(String.self),
          kind: ChatKind(rawValue: try row["kind"].decode(Int.self)) ?? .message,
          sequence: try row["sequence"].decode(Int64.self),
          sentTime: Self.date(fromDatabase: try row["sent_time"].decode(Int64.self))
        )
      }
    }
  }
}
