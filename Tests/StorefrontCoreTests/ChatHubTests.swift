import Foundation
import StorefrontCore
import StorefrontSQLite
import StorefrontTestKit
import Testing

/// The chat hub over a real SQLite store. Every read of an outbox has a timeout, so a bug
/// fails a test instead of hanging it.
@Suite("ChatHub", .timeLimit(.minutes(1)))
struct ChatHubTests {
  static let room = "p_room"

  /// Runs `body` with a hub over a fresh SQLite store in a temporary directory.
  static func withHub(
    limits: ChatLimits = ChatLimits(),
    _ body: (ChatHub, SQLiteStore) async throws -> Void
  ) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(path: directory.url.appendingPathComponent("chat.sqlite").path)
    defer { try? store.close() }
    try await body(ChatHub(store: store, limits: limits), store)
  }

  @Test("a member receives its own JOIN; a later member gets the earlier messages as history")
  func joinHistory() async throws {
    try await Self.withHub { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      #expect(ada.history.isEmpty)
      let joined = try await ada.outbox.receive()
      #expect(joined.kind == .join)
      #expect(joined.sender == "ada")
      #expect(joined.text == "ada joined")
      #expect(joined.sequence == 1)
      try await ada.say("one")
      try await ada.say("two")

      let bob = try await hub.join(room: Self.room, sender: "bob")
      #expect(bob.history.map(\.text) == ["ada joined", "one", "two"])
      #expect(bob.history.map(\.kind) == [.join, .message, .message])
      #expect(bob.history.map(\.sequence) == [1, 2, 3])
      #expect(bob.history.allSatisfy { $0.room == Self.room })
      // Handed out once, then forgotten: a member does not hold it for as long as it stays.
      #expect(bob.takeHistory().map(\.sequence) == [1, 2, 3])
      #expect(bob.history.isEmpty)
      #expect(bob.takeHistory().isEmpty)
      let bobJoined = try await bob.outbox.receive()
      #expect(bobJoined.kind == .join)
      #expect(bobJoined.sequence == 4)
      #expect(hub.memberCount(room: Self.room) == 2)
    }
  }

  @Test("history holds at most historyLength of the newest messages")
  func historyIsCapped() async throws {
    try await Self.withHub(limits: ChatLimits(historyLength: 2)) { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      for text in ["one", "two", "three"] {
        try await ada.say(text)
      }
      let bob = try await hub.join(room: Self.room, sender: "bob")
      #expect(bob.history.map(\.text) == ["two", "three"])
    }
  }

  @Test("two members see the same messages in the same order, with increasing sequences")
  func sameOrderForEveryone() async throws {
    try await Self.withHub { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      let bob = try await hub.join(room: Self.room, sender: "bob")
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask {
          for number in 1 ... 5 { try await ada.say("ada \(number)") }
        }
        group.addTask {
          for number in 1 ... 5 { try await bob.say("bob \(number)") }
        }
      }

      // Ada also saw her own JOIN, before Bob joined.
      let seenByAda = try await ada.outbox.receive(count: 12)
      let seenByBob = try await bob.outbox.receive(count: 11)
      #expect(seenByAda.first?.text == "ada joined")
      #expect(Array(seenByAda.dropFirst()) == seenByBob)
      let sequences = seenByBob.map(\.sequence)
      #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 })

      // Each sender gets its own messages back, in the order it said them.
      let messages = seenByBob.filter { $0.kind == .message }
      #expect(messages.count == 10)
      let fromAda = messages.filter { $0.sender == "ada" }.map(\.text)
      let fromBob = messages.filter { $0.sender == "bob" }.map(\.text)
      #expect(fromAda == (1 ... 5).map { "ada \($0)" })
      #expect(fromBob == (1 ... 5).map { "bob \($0)" })
      #expect(ada.outbox.count == 0)
      #expect(bob.outbox.count == 0)
    }
  }

  @Test("the sender receives its own message")
  func senderReceivesOwnMessage() async throws {
    try await Self.withHub { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      _ = try await ada.outbox.receive()
      try await ada.say("hello")
      let echo = try await ada.outbox.receive()
      #expect(echo.kind == .message)
      #expect(echo.sender == "ada")
      #expect(echo.text == "hello")
      #expect(echo.room == Self.room)
      #expect(echo.sequence == 2)
    }
  }

  @Test("text that is empty or over the limit is refused with invalidArgument naming text")
  func textLimit() async throws {
    try await Self.withHub(limits: ChatLimits(maxTextLength: 5)) { hub, store in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      for text in ["toolong", ""] {
        let error = await #expect(throws: StorefrontError.self) { try await ada.say(text) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations.map(\.field) == ["text"])
      }
      // The limit counts characters, not bytes.
      try await ada.say("ééééé")
      let seen = try await ada.outbox.receive(count: 2)
      #expect(seen.map(\.text) == ["ada joined", "ééééé"])
      #expect(try await store.lastSequence(room: Self.room) == 2)
    }
  }

  @Test("a message over the rate limit is not relayed; the sender alone gets a SYSTEM notice")
  func rateLimit() async throws {
    let limits = ChatLimits(messagesPerSecond: 0.001, burst: 2)
    try await Self.withHub(limits: limits) { hub, store in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      let bob = try await hub.join(room: Self.room, sender: "bob")
      _ = try await ada.outbox.receive(count: 2)
      _ = try await bob.outbox.receive(count: 1)

      try await ada.say("one")
      try await ada.say("two")
      try await ada.say("three")

      let seenByAda = try await ada.outbox.receive(count: 3)
      #expect(seenByAda.prefix(2).map(\.text) == ["one", "two"])
      let notice = seenByAda[2]
      #expect(notice.kind == .system)
      #expect(notice.sequence == 0)
      #expect(notice.room == Self.room)
      #expect(try await bob.outbox.receive(count: 2).map(\.text) == ["one", "two"])
      #expect(bob.outbox.count == 0)
      #expect(ada.outbox.count == 0)
      #expect(try await store.lastSequence(room: Self.room) == 4)
    }
  }

  @Test("a full room refuses a new member with resourceExhausted")
  func roomFull() async throws {
    try await Self.withHub(limits: ChatLimits(maxMembersPerRoom: 1)) { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      let error = await #expect(throws: StorefrontError.self) {
        try await hub.join(room: Self.room, sender: "bob")
      }
      #expect(error?.code == .resourceExhausted)
      #expect(hub.memberCount(room: Self.room) == 1)
      // Other rooms have their own places, and a place frees up when its member leaves.
      _ = try await hub.join(room: "p_other", sender: "bob")
      await hub.leave(ada)
      _ = try await hub.join(room: Self.room, sender: "bob")
      #expect(hub.memberCount(room: Self.room) == 1)
    }
  }

  @Test("a member whose outbox overflows is dropped as tooSlow; the others keep receiving")
  func slowMemberDropped() async throws {
    try await Self.withHub(limits: ChatLimits(outboxCapacity: 2)) { hub, _ in
      // Ada reads after every step; Carol never reads.
      let ada = try await hub.join(room: Self.room, sender: "ada")
      _ = try await ada.outbox.receive()
      let carol = try await hub.join(room: Self.room, sender: "carol")
      #expect(try await ada.outbox.receive().text == "carol joined")
      try await ada.say("m1")
      #expect(try await ada.outbox.receive().text == "m1")
      #expect(carol.outbox.ending == nil)

      try await ada.say("m2")
      #expect(try await ada.outbox.receive().text == "m2")
      #expect(carol.outbox.ending == .tooSlow)
      #expect(hub.memberCount(room: Self.room) == 1)

      try await ada.say("m3")
      #expect(try await ada.outbox.receive().text == "m3")

      // All Carol has left is the notice that she was disconnected.
      #expect(carol.outbox.count == 1)
      #expect(try await carol.outbox.drain().map(\.kind) == [.system])

      // When her stream ends and leaves, the others hear of it.
      await hub.leave(carol)
      let left = try await ada.outbox.receive()
      #expect(left.kind == .leave)
      #expect(left.sender == "carol")
    }
  }

  @Test("leave ends the member's outbox and announces LEAVE to the others, once")
  func leaveAnnounces() async throws {
    try await Self.withHub { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      let bob = try await hub.join(room: Self.room, sender: "bob")
      _ = try await ada.outbox.receive(count: 2)

      await hub.leave(bob)
      let left = try await ada.outbox.receive()
      #expect(left.kind == .leave)
      #expect(left.sender == "bob")
      #expect(left.text == "bob left")
      #expect(bob.outbox.ending == .left)
      #expect(hub.memberCount(room: Self.room) == 1)

      await hub.leave(bob)
      #expect(ada.outbox.count == 0)
      // What Bob had not read yet is still delivered, then his outbox ends.
      #expect(try await bob.outbox.drain().map(\.text) == ["bob joined"])
    }
  }

  @Test("leave without announcing tells nobody")
  func leaveQuietly() async throws {
    try await Self.withHub { hub, store in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      let bob = try await hub.join(room: Self.room, sender: "bob")
      _ = try await ada.outbox.receive(count: 2)
      await hub.leave(bob, announce: false)
      #expect(ada.outbox.count == 0)
      #expect(try await store.lastSequence(room: Self.room) == 2)
      #expect(hub.memberCount(room: Self.room) == 1)
    }
  }

  @Test("shutdown ends every outbox with a notice, and join then answers unavailable")
  func shutdownEndsEveryone() async throws {
    try await Self.withHub { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      let bob = try await hub.join(room: Self.room, sender: "bob")
      let cy = try await hub.join(room: "p_other", sender: "cy")

      hub.shutdown()

      for member in [ada, bob, cy] {
        #expect(member.outbox.ending == .shutdown)
      }
      let seenByAda = try await ada.outbox.drain()
      #expect(seenByAda.map(\.kind) == [.join, .join, .system])
      #expect(seenByAda.last?.text == "The server is shutting down.")
      #expect(try await bob.outbox.drain().map(\.kind) == [.join, .system])
      #expect(try await cy.outbox.drain().map(\.kind) == [.join, .system])

      let error = await #expect(throws: StorefrontError.self) {
        try await hub.join(room: Self.room, sender: "dee")
      }
      #expect(error?.code == .unavailable)
    }
  }

  @Test("a room emptied and joined again continues its sequences")
  func sequencesContinueInOneHub() async throws {
    try await Self.withHub { hub, _ in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      try await ada.say("one")
      await hub.leave(ada)
      #expect(hub.memberCount(room: Self.room) == 0)

      let bob = try await hub.join(room: Self.room, sender: "bob")
      #expect(bob.history.map(\.sequence) == [1, 2, 3])
      #expect(try await bob.outbox.receive().sequence == 4)
    }
  }

  @Test("the last member's leave is recorded: history shows every join with its leave")
  func lastLeaveIsRecorded() async throws {
    try await Self.withHub { hub, store in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      await hub.leave(ada)
      #expect(try await store.lastSequence(room: Self.room) == 2)
      let bob = try await hub.join(room: Self.room, sender: "bob")
      #expect(bob.history.map(\.kind) == [.join, .leave])
      #expect(bob.history.map(\.text) == ["ada joined", "ada left"])
      await hub.leave(bob)
      let history = try await store.recentMessages(room: Self.room, before: 100, limit: 10)
      #expect(history.map(\.text) == ["ada joined", "ada left", "bob joined", "bob left"])
    }
  }

  @Test("a room closed with its product records no leave for its members")
  func closedRoomRecordsNoLeave() async throws {
    try await Self.withHub { hub, store in
      let ada = try await hub.join(room: Self.room, sender: "ada")
      hub.closeRoom(Self.room)
      await hub.leave(ada)
      #expect(try await store.lastSequence(room: Self.room) == 1)
    }
  }

  @Test("history survives reopening the store, and sequences continue upwards")
  func historySurvivesReopening() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.url.appendingPathComponent("chat.sqlite").path
    do {
      let store = try SQLiteStore(path: path)
      let hub = ChatHub(store: store)
      let ada = try await hub.join(room: Self.room, sender: "ada")
      try await ada.say("before the restart")
      await hub.leave(ada)
      hub.shutdown()
      try store.close()
    }

    let store = try SQLiteStore(path: path)
    defer { try? store.close() }
    let hub = ChatHub(store: store)
    let bob = try await hub.join(room: Self.room, sender: "bob")
    #expect(bob.history.map(\.text) == ["ada joined", "before the restart", "ada left"])
    #expect(bob.history.map(\.sequence) == [1, 2, 3])
    let joined = try await bob.outbox.receive()
    #expect(joined.kind == .join)
    #expect(joined.sequence == 4)
    try await bob.say("after the restart")
    #expect(try await bob.outbox.receive().sequence == 5)
    #expect(try await store.lastSequence(room: Self.room) == 5)
  }
}
