import Foundation
import GRDB
public import StorefrontCore

extension SQLiteStore: ChatStore {
  /// Writes are serialised: the room's next sequence is taken, and committed, before the
  /// next message's.
  @discardableResult
  public func append(_ record: ChatRecord) async throws -> ChatRecord {
    var stored = record
    stored.sentTime = Self.date(fromDatabase: Self.databaseTime(record.sentTime))
    stored.sequence = try await self.write { db in
      try Int64.fetchOne(
        db.cachedStatement(
          sql: """
            INSERT INTO chat_message (room, sequence, sender, text, kind, sent_time)
            VALUES (?, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM chat_message WHERE room = ?),
              ?, ?, ?, ?)
            RETURNING sequence
            """
        ),
        arguments: [
          record.room, record.room, record.sender, record.text, record.kind.rawValue,
          Self.databaseTime(record.sentTime),
        ]
      ) ?? 0
    }
    return stored
  }

  public func lastSequence(room: String) async throws -> Int64 {
    try await self.read { db in
      try Int64.fetchOne(
        db.cachedStatement(sql: "SELECT MAX(sequence) FROM chat_message WHERE room = ?"),
        arguments: [room]
      ) ?? 0
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
      SELECT * FROM chat_message WHERE room = ? AND sequence < ?
      ORDER BY sequence DESC LIMIT ?
      """,
      room: room,
      sequence: sequence,
      limit: limit
    ).reversed()
  }

  public func messages(
    room: String,
    after sequence: Int64,
    limit: Int
  ) async throws -> [ChatRecord] {
    try await self.chatRecords(
      "SELECT * FROM chat_message WHERE room = ? AND sequence > ? ORDER BY sequence LIMIT ?",
      room: room,
      sequence: sequence,
      limit: limit
    )
  }

  /// The chat records `sql` selects, given the room, a sequence and a limit.
  private func chatRecords(
    _ sql: String,
    room: String,
    sequence: Int64,
    limit: Int
  ) async throws -> [ChatRecord] {
    try await self.read { db in
      try Row.fetchAll(
        db.cachedStatement(sql: sql),
        arguments: [room, sequence, max(0, limit)]
      ).map { row in
        ChatRecord(
          room: row["room"],
          sender: row["sender"],
          text: row["text"],
          kind: ChatKind(rawValue: row["kind"]) ?? .message,
          sequence: row["sequence"],
          sentTime: Self.date(fromDatabase: row["sent_time"])
        )
      }
    }
  }
}
