import GRPCCore
import GRPCProtobuf
import StorefrontAPI
import StorefrontCore
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

/// A follower of a chat room (FollowChat) over a real stream: what it receives lands in
/// `received`; what it says goes through SendChatMessage.
final class ChatFollower: Sendable {
  let name: String
  let token: String
  private let inbox = Mutex<[Storefront_V1_ChatMessage]>([])

  init(name: String, token: String) {
    self.name = name
    self.token = token
  }

  /// Follows `room` until the server ends the stream, or the calling task is cancelled
  /// (which ends the call, and returns).
  func run(_ client: ProductClient, room: String) async throws {
    do {
      try await client.followChat(.with { $0.room = room }, metadata: .bearer(self.token)) {
        response in
        for try await message in response.messages {
          self.inbox.withLock { $0.append(message) }
        }
      }
    } catch {
      if Task.isCancelled { return }
      throw error
    }
  }

  func say(_ text: String, in room: String, on client: ProductClient) async throws {
    _ = try await client.sendChatMessage(
      .with {
        $0.room = room
        $0.text = text
      },
      metadata: .bearer(self.token)
    )
  }

  var received: [Storefront_V1_ChatMessage] { self.inbox.withLock { $0 } }

  /// The MESSAGE texts received so far, in order.
  var texts: [String] { self.received.filter { $0.kind == .message }.map(\.text) }
}

@Suite("FollowChat and SendChatMessage over HTTP/2")
struct FollowChatTests {
  @Test("a follower and a Chat member share one room: the same messages in the same order")
  func followerAndMember() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      let alice = ChatFollower(
        name: "alice",
        token: try await TestServer.token(for: "alice", on: server)
      )
      let bob = ChatMember(name: "bob", token: try await TestServer.token(for: "bob", on: server))
      try await withThrowingDiscardingTaskGroup { group in
        let following = Task { try await alice.run(client, room: room) }
        let aliceIn = try await eventually {
          alice.received.contains { $0.kind == .join && $0.sender == "alice" }
        }
        #expect(aliceIn)
        group.addTask { try await bob.run(client, room: room) }
        let bobIn = try await eventually { alice.received.contains { $0.sender == "bob" } }
        #expect(bobIn)
        for index in 0 ..< 3 {
          try await alice.say("a\(index)", in: room, on: client)
          bob.say("b\(index)")
        }
        let delivered = try await eventually { alice.texts.count == 6 && bob.texts.count == 6 }
        #expect(delivered)
        #expect(alice.texts == bob.texts)
        #expect(
          alice.received.filter { $0.text.hasPrefix("a") && $0.kind == .message }
            .allSatisfy { $0.sender == "alice" }
        )
        let sequences = alice.received.filter { $0.sequence > 0 }.map(\.sequence)
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count)

        // Ending the call leaves the room, announced to the others.
        following.cancel()
        _ = await following.result
        let left = try await eventually {
          bob.received.contains { $0.kind == .leave && $0.sender == "alice" }
        }
        #expect(left)
        #expect(server.chat.memberCount(room: room) == 1)
        try await expectRPCError(.failedPrecondition) {
          try await alice.say("gone", in: room, on: client)
        }
        bob.leave()
      }
    }
  }

  @Test("a later follower gets the history; speaking needs a follow of that room")
  func historyAndPreconditions() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      let other = try await client.create(.sample(sku: "FOLLOW-OTHER")).id
      let alice = ChatFollower(
        name: "alice",
        token: try await TestServer.token(for: "alice", on: server)
      )
      let carol = ChatFollower(
        name: "carol",
        token: try await TestServer.token(for: "carol", on: server)
      )
      try await expectRPCError(.failedPrecondition) {
        try await alice.say("not yet", in: room, on: client)
      }
      let stored = try await server.store.lastSequence(room: room)
      #expect(stored == 0)
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await alice.run(client, room: room) }
        let aliceIn = try await eventually { !alice.received.isEmpty }
        #expect(aliceIn)
        try await alice.say("first", in: room, on: client)
        try await alice.say("second", in: room, on: client)
        // Following one room is no licence to speak in another.
        try await expectRPCError(.failedPrecondition) {
          try await alice.say("elsewhere", in: other, on: client)
        }
        group.addTask { try await carol.run(client, room: room) }
        let history = try await eventually { carol.texts == ["first", "second"] }
        #expect(history, "\(carol.received)")
        group.cancelAll()
      }
    }
  }

  @Test("bad rooms and text are INVALID_ARGUMENT, an unknown room NOT_FOUND, anonymity refused")
  func errors() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      let token = try await TestServer.token(for: "alice", on: server)
      let alice = ChatFollower(name: "alice", token: token)
      try await expectRPCError(.notFound) { try await alice.run(client, room: "p_missing") }
      let fields = try await expectRPCError(.invalidArgument) {
        try await alice.run(client, room: "")
      }
      #expect(fields == ["room"])
      try await expectRPCError(.notFound) { try await alice.run(client, room: "p_missing") }
      try await TestServer.withClient(port: try await server.listeningPort) { anonymous in
        try await expectRPCError(.unauthenticated) {
          try await anonymous.followChat(.with { $0.room = room }) { response in
            for try await _ in response.messages {}
          }
        }
        try await expectRPCError(.unauthenticated) {
          _ = try await anonymous.sendChatMessage(
            .with {
              $0.room = room
              $0.text = "hi"
            }
          )
        }
      }
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await alice.run(client, room: room) }
        let aliceIn = try await eventually { !alice.received.isEmpty }
        #expect(aliceIn)
        for text in ["", String(repeating: "y", count: 2_001), "bell\u{7}"] {
          let fields = try await expectRPCError(.invalidArgument) {
            try await alice.say(text, in: room, on: client)
          }
          #expect(fields == ["text"])
        }
        #expect(alice.texts.isEmpty)
        group.cancelAll()
      }
      let left = try await eventually { server.chat.memberCount(room: room) == 0 }
      #expect(left)
    }
  }

  @Test("over the rate, SendChatMessage is RESOURCE_EXHAUSTED with RetryInfo and says nothing")
  func rateLimit() async throws {
    let slow: (inout StorefrontServer.Configuration) -> Void = {
      $0.chat = ChatLimits(messagesPerSecond: 0.01, burst: 2)
    }
    try await TestServer.with(configure: slow) { client, server in
      let room = try await client.create().id
      let alice = ChatFollower(
        name: "alice",
        token: try await TestServer.token(for: "alice", on: server)
      )
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await alice.run(client, room: room) }
        let aliceIn = try await eventually { !alice.received.isEmpty }
        #expect(aliceIn)
        try await alice.say("one", in: room, on: client)
        try await alice.say("two", in: room, on: client)
        do {
          try await alice.say("three", in: room, on: client)
          Issue.record("the third message within a second was sent")
        } catch let error as RPCError {
          #expect(error.code == .resourceExhausted)
          let delay = try error.unpackGoogleRPCStatus()?.details.compactMap(\.retryInfo).first?
            .delay
          #expect(delay.map { $0 > .zero } == true)
        }
        let stored = try await server.store.recentMessages(room: room, before: .max, limit: 10)
        #expect(stored.filter { $0.kind == .message }.map(\.text) == ["one", "two"])
        group.cancelAll()
      }
    }
  }
}
