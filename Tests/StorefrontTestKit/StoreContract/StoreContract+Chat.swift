import StorefrontCore
import Testing

extension StoreContract {
  static let lastSequencePerRoom = Case(
    "lastSequence is the highest stored sequence of a room, and 0 for an empty one"
  ) { factory in
    try await factory.withStore { store in
      #expect(try await store.lastSequence(room: "p_room") == 0)
      for sequence: Int64 in [1, 2, 5] {
        try await store.append(.sample(room: "p_room", sequence: sequence))
      }
      try await store.append(.sample(room: "p_other", sequence: 9))
      #expect(try await store.lastSequence(room: "p_room") == 5)
      #expect(try await store.lastSequence(room: "p_other") == 9)
      #expect(try await store.lastSequence(room: "p_empty") == 0)
    }
  }

  static let recentMessagesWindow = Case(
    "recentMessages returns the newest `limit` below the sequence, oldest first"
  ) { factory in
    try await factory.withStore { store in
      let records = (Int64(1) ... 10).map { ChatRecord.sample(room: "p_room", sequence: $0) }
      for record in records {
        try await store.append(record)
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
        records.append(record)
        try await store.append(record)
      }
      #expect(try await store.recentMessages(room: "p_room", before: 10, limit: 10) == records)
    }
  }

  static let duplicateSequence = Case(
    "append refuses a second message with the same room and sequence, as a server fault"
  ) { factory in
    try await factory.withStore { store in
      let original = ChatRecord.sample(room: "p_room", sequence: 1)
      try await store.append(original)
      var duplicate = original
      duplicate.text = "a different text"
      let error = await #expect(throws: StorefrontError.self) {
        try await store.append(duplicate)
      }
      // Sequences are the hub's to assign: a collision is never the client's doing.
      #expect(error?.code == .internalError)
      #expect(try await store.recentMessages(room: "p_room", before: 10, limit: 10) == [original])
      try await store.append(.sample(room: "p_other", sequence: 1))
      #expect(try await store.lastSequence(room: "p_other") == 1)
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
