import StorefrontCore
import Testing

extension StoreContract {
  static let lastSequencePerRoom = Case(
    "append hands out each room's sequences from 1, whatever the record says; lastSequence is the highest"
  ) { factory in
    try await factory.withStore { store in
      #expect(try await store.lastSequence(room: "p_room") == 0)
      var sequences: [Int64] = []
      for claimed: Int64 in [7, 7, 2] {
        sequences.append(
          try await store.append(.sample(room: "p_room", sequence: claimed)).sequence
        )
      }
      #expect(sequences == [1, 2, 3])
      #expect(try await store.append(.sample(room: "p_other", sequence: 9)).sequence == 1)
      #expect(try await store.lastSequence(room: "p_room") == 3)
      #expect(try await store.lastSequence(room: "p_other") == 1)
      #expect(try await store.lastSequence(room: "p_empty") == 0)
    }
  }

  static let recentMessagesWindow = Case(
    "recentMessages returns the newest `limit` below the sequence, oldest first"
  ) { factory in
    try await factory.withStore { store in
      var records: [ChatRecord] = []
      for number in Int64(1) ... 10 {
        records.append(try await store.append(.sample(room: "p_room", sequence: number)))
      }
      try await store.append(.sample(room: "p_other", sequence: 7))

      let recent = try await store.recentMessages(room: "p_room", before: 8, limit: 3)
      #expect(recent == Array(records[4 ..< 7]))
      #expect(recent.map(\.sequence) == [5, 6, 7])

      let all = try await store.recentMessages(room: "p_room", before: 100, limit: 100)
      #expect(all == records)
      #expect(try await store.recentMessages(room: "p_room", before: 1, limit: 10).isEmpty)
      #expect(try await store.recentMessages(room: "p_room", before: 8, limit: 0).isEmpty)
      #expect(try await store.recentMessages(room: "p_empty", before: 8, limit: 10).isEmpty)
    }
  }

  static let messagesAfterWindow = Case(
    "messages(after:) returns the oldest `limit` above the sequence, oldest first"
  ) { factory in
    try await factory.withStore { store in
      var records: [ChatRecord] = []
      for number in Int64(1) ... 10 {
        records.append(try await store.append(.sample(room: "p_room", sequence: number)))
      }
      try await store.append(.sample(room: "p_other", sequence: 1))

      let next = try await store.messages(room: "p_room", after: 4, limit: 3)
      #expect(next == Array(records[4 ..< 7]))
      #expect(next.map(\.sequence) == [5, 6, 7])
      #expect(try await store.messages(room: "p_room", after: 0, limit: 100) == records)
      #expect(try await store.messages(room: "p_room", after: 10, limit: 10).isEmpty)
      #expect(try await store.messages(room: "p_room", after: 0, limit: 0).isEmpty)
      #expect(try await store.messages(room: "p_empty", after: 0, limit: 10).isEmpty)
    }
  }

  static let chatKindsRoundTrip = Case(
    "every kind of chat record is stored and read back unchanged"
  ) { factory in
    try await factory.withStore { store in
      let kinds: [ChatKind] = [.join, .message, .leave, .system]
      var records: [ChatRecord] = []
      for (index, kind) in kinds.enumerated() {
        var record = ChatRecord.sample(room: "p_room", sequence: Int64(index + 1))
        record.kind = kind
        record.sender = "Zoë"
        record.text = "Grüße, 世界 \(index)"
        let stored = try await store.append(record)
        #expect(stored.sequence == Int64(index + 1))
        records.append(stored)
      }
      #expect(try await store.recentMessages(room: "p_room", before: 10, limit: 10) == records)
    }
  }

  static let racingAppends = Case(
    "appends that race get each sequence of their room once, 1 to N, as read back"
  ) { factory in
    try await factory.withStore { store in
      let stored = try await withThrowingTaskGroup(of: ChatRecord.self) { group in
        for number in Int64(1) ... 40 {
          group.addTask {
            try await store.append(
              .sample(room: number % 4 == 0 ? "p_other" : "p_room", sequence: number)
            )
          }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      let room = stored.filter { $0.room == "p_room" }.sorted { $0.sequence < $1.sequence }
      let other = stored.filter { $0.room == "p_other" }.sorted { $0.sequence < $1.sequence }
      #expect(room.map(\.sequence) == Array(1 ... 30))
      #expect(other.map(\.sequence) == Array(1 ... 10))
      #expect(try await store.messages(room: "p_room", after: 0, limit: 100) == room)
      #expect(try await store.messages(room: "p_other", after: 0, limit: 100) == other)
    }
  }

  static let deleteRemovesChat = Case("delete removes the product's chat history") { factory in
    try await factory.withStore { store in
      let product = try await store.insert(.sample())
      let other = try await store.insert(.sample())
      try await store.append(.sample(room: product.id, sequence: 1))
      try await store.append(.sample(room: other.id, sequence: 1))
      _ = try await store.delete(id: product.id, expectedETag: nil)
      #expect(try await store.lastSequence(room: product.id) == 0)
      #expect(try await store.recentMessages(room: product.id, before: 10, limit: 10).isEmpty)
      #expect(try await store.lastSequence(room: other.id) == 1)
    }
  }
}
