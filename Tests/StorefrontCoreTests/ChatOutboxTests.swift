import Foundation
import StorefrontTestKit
import Testing

@testable import StorefrontCore

@Suite("ChatOutbox", .timeLimit(.minutes(1)))
struct ChatOutboxTests {
  static let room = "p_room"

  static func record(_ sequence: Int64) -> ChatRecord {
    ChatRecord(
      room: Self.room,
      sender: "ada",
      text: "message \(sequence)",
      kind: .message,
      sequence: sequence,
      sentTime: Date(timeIntervalSince1970: 1_700_000_000)
    )
  }

  @Test("next returns pushed messages in the order they were pushed")
  func inOrder() async throws {
    let outbox = ChatOutbox(capacity: 8)
    for sequence in Int64(1) ... 3 {
      #expect(outbox.push(Self.record(sequence)))
    }
    #expect(outbox.count == 3)
    var received: [ChatRecord] = []
    for _ in 1 ... 3 {
      received.append(try await outbox.receive())
    }
    #expect(received == [Self.record(1), Self.record(2), Self.record(3)])
    #expect(outbox.count == 0)
    #expect(outbox.ending == nil)
  }

  @Test("overflowing the capacity ends the outbox as tooSlow, leaving one SYSTEM notice")
  func overflow() async throws {
    let outbox = ChatOutbox(capacity: 3)
    for sequence in Int64(1) ... 3 {
      #expect(outbox.push(Self.record(sequence)))
    }
    #expect(outbox.ending == nil)
    #expect(!outbox.push(Self.record(4)))
    #expect(outbox.ending == .tooSlow)
    #expect(outbox.count == 1)
    let notice = try await outbox.receive()
    #expect(notice.kind == .system)
    #expect(notice.sequence == 0)
    #expect(notice.room == Self.room)
    #expect(try await outbox.next(within: .seconds(5)) == nil)
    #expect(!outbox.push(Self.record(5)))
    #expect(outbox.count == 0)
  }

  @Test("a capacity below one holds one message")
  func minimumCapacity() {
    let outbox = ChatOutbox(capacity: 0)
    #expect(outbox.push(Self.record(1)))
    #expect(!outbox.push(Self.record(2)))
    #expect(outbox.ending == .tooSlow)
  }

  @Test("finish(.left) lets queued messages drain, then next returns nil")
  func finishDrains() async throws {
    let outbox = ChatOutbox(capacity: 8)
    outbox.push(Self.record(1))
    outbox.push(Self.record(2))
    outbox.finish(.left)
    #expect(outbox.ending == .left)
    #expect(!outbox.push(Self.record(3)))
    #expect(try await outbox.receive() == Self.record(1))
    #expect(try await outbox.receive() == Self.record(2))
    #expect(try await outbox.next(within: .seconds(5)) == nil)
    #expect(try await outbox.next(within: .seconds(5)) == nil)
  }

  @Test("finish with a notice delivers it after the queued messages; the first ending wins")
  func finishWithNotice() async throws {
    let outbox = ChatOutbox(capacity: 8)
    outbox.push(Self.record(1))
    let notice = ChatRecord.notice(room: Self.room, "The server is shutting down.")
    outbox.finish(.shutdown, notice: notice)
    outbox.finish(.left)
    #expect(outbox.ending == .shutdown)
    #expect(try await outbox.receive() == Self.record(1))
    #expect(try await outbox.receive() == notice)
    #expect(try await outbox.next(within: .seconds(5)) == nil)
  }

  @Test("a next() that is waiting is resumed by push")
  func waitingNextResumedByPush() async throws {
    let outbox = ChatOutbox(capacity: 4)
    try await withThrowingTaskGroup(of: ChatRecord?.self) { group in
      group.addTask { try await outbox.next(within: .seconds(10)) }
      // Give next() time to start waiting, so that push hands the record to the waiter.
      try await Task.sleep(for: .milliseconds(100))
      outbox.push(Self.record(7))
      let received = try await group.next() ?? nil
      #expect(received == Self.record(7))
    }
    #expect(outbox.count == 0)
  }

  @Test("a next() that is waiting is resumed by finish: with nil, or with the notice")
  func waitingNextResumedByFinish() async throws {
    let notice = ChatRecord.notice(room: Self.room, "bye")
    for finishNotice in [nil, notice] {
      let outbox = ChatOutbox(capacity: 4)
      try await withThrowingTaskGroup(of: ChatRecord?.self) { group in
        group.addTask { try await outbox.next(within: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        outbox.finish(.shutdown, notice: finishNotice)
        let received = try await group.next() ?? nil
        #expect(received == finishNotice)
      }
      #expect(try await outbox.next(within: .seconds(5)) == nil)
    }
  }

  @Test("next() returns nil when its task is cancelled, and the outbox stays open")
  func cancelledWhileWaiting() async throws {
    let outbox = ChatOutbox(capacity: 4)
    await withTaskGroup(of: ChatRecord?.self) { group in
      group.addTask { await outbox.next() }
      try? await Task.sleep(for: .milliseconds(100))
      group.cancelAll()
      let result = await group.next() ?? nil
      #expect(result == nil)
    }
    #expect(outbox.ending == nil)
    outbox.push(Self.record(1))
    #expect(try await outbox.receive() == Self.record(1))
  }

  @Test("next() in a task that is already cancelled returns nil at once")
  func alreadyCancelled() async {
    let outbox = ChatOutbox(capacity: 4)
    await withTaskGroup(of: ChatRecord?.self) { group in
      group.addTask {
        while !Task.isCancelled {
          await Task.yield()
        }
        return await outbox.next()
      }
      group.cancelAll()
      let result = await group.next() ?? nil
      #expect(result == nil)
    }
  }
}
