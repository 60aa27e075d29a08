import Foundation
import GRDB
public import StorefrontCore

extension SQLiteStore: ChatStore {
  @discardableResult
  public func append(_ record: ChatRecord) async throws -> ChatRecord {
    var stored = record
    stored.sentTime = Self.date(fromDatabase: Self.databaseTime(record.sentTime))
    try await self.write { db in
      try db.execute(
        cached: """
          INSERT INTO chat_message (room, sequence, sender, text, kind, sent_time)
          VALUES (?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          record.room, record.sequence, record.sender, record.text, record.kind.rawValue,
          Self.databaseTime(record.sentTime),
        ]
      )
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
    try await self.read { db in
      let rows = try Row.fetchAll(
        db.cachedStatement(
          sql: """
            SELECT * FROM chat_message WHERE room = ? AND sequence < ?
            ORDER BY sequence DESC LIMIT ?
            """
        ),
        arguments: [room, sequence, max(0, limit)]
      )
      return rows.reversed().map { row in
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
