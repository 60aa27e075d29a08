import GRPCCore
import StorefrontAPI
import StorefrontCore
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

/// One member of a chat room over a real stream: what it says goes through `say`, what it
/// receives lands in `received`.
final class ChatMember: Sendable {
  let name: String
  /// The member's own access token; nil: the client's (every such member is its user).
  let token: String?
  private let outgoing: AsyncStream<Storefront_V1_ChatMessage>.Continuation
  private let incoming: AsyncStream<Storefront_V1_ChatMessage>
  private let inbox = Mutex<[Storefront_V1_ChatMessage]>([])

  init(name: String, token: String? = nil) {
    self.name = name
    self.token = token
    (self.incoming, self.outgoing) = AsyncStream.makeStream()
  }

  /// Joins `room` and runs the stream until ``leave()``.
  func run(
    _ client: ProductClient,
    room: String,
    options: CallOptions = .defaults
  ) async throws {
    try await client.chat(metadata: self.token.map(Metadata.bearer) ?? [:], options: options) {
      writer in
      try await writer.write(
        .with {
          $0.kind = .join
          $0.room = room
          $0.sender = self.name
        }
      )
      for await message in self.incoming {
        try await writer.write(message)
      }
    } onResponse: { response in
      for try await message in response.messages {
        self.inbox.withLock { $0.append(message) }
      }
    }
  }

  func say(_ text: String) {
    self.outgoing.yield(
      .with {
        $0.kind = .message
        $0.text = text
      }
    )
  }

  func leave() {
    self.outgoing.yield(.with { $0.kind = .leave })
    self.outgoing.finish()
  }

  /// The MESSAGE texts received so far, in order.
  var texts: [String] {
    self.inbox.withLock { $0.filter { $0.kind == .message }.map(\.text) }
  }

  var received: [Storefront_V1_ChatMessage] { self.inbox.withLock { $0 } }
}

@Suite("Chat over HTTP/2")
struct ChatTests {
  @Test("two members see the same messages in one order; a late joiner gets the history")
  func sharedOrderAndHistory() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      let alice = ChatMember(
        name: "alice",
        token: try await TestServer.token(for: "alice", on: server)
      )
      let bob = ChatMember(name: "bob", token: try await TestServer.token(for: "bob", on: server))
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await alice.run(client, room: room) }
        group.addTask { try await bob.run(client, room: room) }
        let bobJoined = try await eventually { alice.received.contains { $0.sender == "bob" } }
        #expect(bobJoined)
        for index in 0 ..< 5 {
          alice.say("a\(index)")
          bob.say("b\(index)")
        }
        let allDelivered = try await eventually { alice.texts.count == 10 && bob.texts.count == 10 }
        #expect(allDelivered)
        #expect(alice.texts == bob.texts)
        let sequences = alice.received.filter { $0.kind == .message }.map(\.sequence)
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count)
        #expect(
          alice.received.filter { $0.kind == .message && $0.text.hasPrefix("b") }
            .allSatisfy { $0.sender == "bob" }
        )

        let carol = ChatMember(
          name: "carol",
          token: try await TestServer.token(for: "carol", on: server)
        )
        group.addTask { try await carol.run(client, room: room) }
        let historyArrived = try await eventually { carol.texts.count == 10 }
        #expect(historyArrived)
        #expect(carol.texts == alice.texts)
        // The history copy of a message equals the live copy, time included.
        let live = alice.received.filter { $0.kind == .message }
        let history = carol.received.filter { $0.kind == .message }
        #expect(history == live)
        for member in [alice, bob, carol] { member.leave() }
      }
    }
  }

  @Test("chat rejects a first message that is not JOIN, an unknown room and overlong text")
  func errors() async throws {
    try await TestServer.with { client, _ in
      let room = try await client.create().id
      let cases: [(RPCError.Code, String, [Storefront_V1_ChatMessage])] = [
        (
          .invalidArgument, "kind",
          [
            .with {
              $0.kind = .message
              $0.room = room
              $0.text = "hi"
            }
          ]
        ),
        (
          .notFound, "",
          [
            .with {
              $0.kind = .join
              $0.room = "p_missing"
              $0.sender = "x"
            }
          ]
        ),
        (
          .invalidArgument, "text",
          [
            .with {
              $0.kind = .join
              $0.room = room
              $0.sender = "x"
            },
            .with {
              $0.kind = .message
              $0.text = String(repeating: "y", count: 2_001)
            },
          ]
        ),
      ]
      for (code, field, messages) in cases {
        let fields = try await expectRPCError(code) {
          try await client.chat { writer in
            try await writer.write(contentsOf: messages)
          } onResponse: { response in
            for try await _ in response.messages {}
          }
        }
        #expect(fields == (field.isEmpty ? [] : [field]))
      }
    }
  }

  @Test("deleting a product closes its chat room with a notice")
  func deleteClosesRoom() async throws {
    try await TestServer.with { client, server in
      let product = try await client.create()
      let alice = ChatMember(name: "alice")
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await alice.run(client, room: product.id) }
        let joined = try await eventually { server.chat.memberCount(room: product.id) == 1 }
        #expect(joined)
        _ = try await client.deleteProduct(.with { $0.id = product.id })
        let told = try await eventually {
          alice.received.last.map { $0.kind == .system && $0.text.contains("deleted") } ?? false
        }
        #expect(told)
      }
      #expect(server.chat.memberCount(room: product.id) == 0)
    }
  }
}
