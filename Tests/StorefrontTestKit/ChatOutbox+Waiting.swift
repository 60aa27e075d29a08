public import StorefrontCore

/// Why a test stopped waiting for a chat message.
public struct NoMessage: Error, CustomStringConvertible {
  public var description: String
}

extension ChatOutbox {
  /// The next message, or nil once the outbox has ended and is drained. Throws instead of
  /// hanging when nothing arrives within `timeout`, so a bug fails the test.
  public func next(within timeout: Duration) async throws -> ChatRecord? {
    try await withThrowingTaskGroup(of: ChatRecord?.self) { group in
      group.addTask { await self.next() }
      group.addTask {
        try await Task.sleep(for: timeout)
        throw NoMessage(description: "no message arrived within \(timeout)")
      }
      defer { group.cancelAll() }
      guard let first = try await group.next() else { return nil }
      return first
    }
  }

  /// The next message; throws when the outbox has ended or nothing arrives within `timeout`.
  public func receive(within timeout: Duration = .seconds(5)) async throws -> ChatRecord {
    guard let record = try await self.next(within: timeout) else {
      throw NoMessage(description: "the outbox ended: \(String(describing: self.ending))")
    }
    return record
  }

  /// The next `count` messages, in order.
  public func receive(
    count: Int,
    within timeout: Duration = .seconds(5)
  ) async throws -> [ChatRecord] {
    var records: [ChatRecord] = []
    for _ in 0 ..< count {
      records.append(try await self.receive(within: timeout))
    }
    return records
  }

  /// Every message up to the end of an outbox that has ended or is about to.
  public func drain(within timeout: Duration = .seconds(5)) async throws -> [ChatRecord] {
    var records: [ChatRecord] = []
    while let record = try await self.next(within: timeout) {
      records.append(record)
    }
    return records
  }
}
