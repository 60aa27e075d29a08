import Foundation
import PostgresNIO
public import StorefrontCore

extension PostgresStore: ChatStore {
  /// One statement, its own transaction: it takes the room's next sequence by updating the
  /// room's row in `chat_room` (created at the first message), inserts the message and
  /// notifies every replica (``ChangeFollower``). The row stays locked to the commit, so the
  /// room's next message, on any replica, waits for this one: a room's sequences become
  /// visible in order, without gaps, and a reader of "after N" never skips one. It runs to
  /// its end even when the caller is cancelled.
  @discardableResult
  public func append(_ record: ChatRecord) async throws -> ChatRecord {
    var stored = record
    stored.sentTime = Self.date(fromDatabase: Self.databaseTime(record.sentTime))
    let logger = self.logger
    stored.sequence = try await uncancelled {
      try await self.withConnection { connection in
        let rows = try await connection.rows(
          """
          WITH next AS (
            INSERT INTO chat_room (room, last_sequence) VALUES (\(record.room), 1)
            ON CONFLICT (room) DO UPDATE SET last_sequence = chat_room.last_sequence + 1
            RETURNING last_sequence
          ), message AS (
            INSERT INTO chat_message (room, sequence, sender, text, kind, sent_time)
            SELECT \(record.room), last_sequence, \(record.sender), \(record.text),
              \(record.kind.rawValue), \(Self.databaseTime(record.sentTime))
            FROM next
            RETURNING sequence
          )
          SELECT sequence, pg_notify(\(ChangeFollower.chatChannel), sequence || ' ' || \(record.room))
          FROM message
          """,
          logger: logger
        )
        return try rows.first?["sequence"].decode(Int64.self) ?? 0
      }
    }
    return stored
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
