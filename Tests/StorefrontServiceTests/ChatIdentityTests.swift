import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("Chat identity over HTTP/2")
struct ChatIdentityTests {
  @Test("a member is named by its token: claiming another name, or none, changes nothing")
  func impersonation() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      let alice = ChatMember(
        name: "alice",
        token: try await TestServer.token(for: "alice", on: server)
      )
      // Mallory claims to be alice on every message.
      let mallory = ChatMember(
        name: "alice",
        token: try await TestServer.token(for: "mallory", on: server)
      )
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await alice.run(client, room: room) }
        let aliceIn = try await eventually { server.chat.memberCount(room: room) == 1 }
        #expect(aliceIn)
        group.addTask { try await mallory.run(client, room: room) }
        let malloryIn = try await eventually {
          alice.received.contains { $0.kind == .join && $0.sender == "mallory" }
        }
        #expect(malloryIn)
        mallory.say("I am alice")
        let heard = try await eventually { alice.texts.contains("I am alice") }
        #expect(heard)
        let message = try #require(alice.received.first { $0.text == "I am alice" })
        #expect(message.sender == "mallory")
        #expect(alice.received.filter { $0.kind == .join }.map(\.sender) == ["alice", "mallory"])
        let stored = try await server.store.recentMessages(room: room, before: .max, limit: 10)
        #expect(stored.filter { $0.text == "I am alice" }.map(\.sender) == ["mallory"])
        alice.leave()
        mallory.leave()
      }
    }
  }

  @Test("an anonymous chat is refused before it joins anything")
  func anonymousChat() async throws {
    try await TestServer.with { client, server in
      let room = try await client.create().id
      try await TestServer.withClient(port: try await server.listeningPort) { anonymous in
        let member = ChatMember(name: "ghost")
        try await expectRPCError(.unauthenticated) { try await member.run(anonymous, room: room) }
      }
      #expect(try await server.store.lastSequence(room: room) == 0)
      #expect(server.chat.memberCount(room: room) == 0)
    }
  }
}
