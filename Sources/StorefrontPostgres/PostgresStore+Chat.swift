import Foundation
import PostgresNIO
public import StorefrontCore

extension PostgresStore: ChatStore {
  @discardableResult
  public func append(_ record: ChatRecord) async throws -> ChatRecord {
    var stored = record
    stored.sentTime = Self.date(fromDatabase: Self.databaseTime(record.sentTime))
    let logger = self.logger
    try await self.writeUnlogged { connection in
      try await connection.run(
        """
        INSERT INTO chat_message (room, sequence, sender, text, kind, sent_time)
        VALUES (\(record.room), \(record.sequence), \(record.sender), \(record.text),
          \(record.kind.rawValue), \(Self.databaseTime(record.sentTime)))
        """,
        logger: logger
      )
    }
    return stored
  }

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
    let logger = self.logger
    return try await self.read { connection in
      let rows = try await connection.rows(
        """
        SELECT * FROM chat_message WHERE room = \(room) AND sequence < \(sequence)
        ORDER BY sequence DESC LIMIT \(max(0, limit))
        """,
        logger: logger
      )
      return try rows.reversed().map { row in
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
