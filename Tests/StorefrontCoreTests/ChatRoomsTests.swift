import StorefrontCore
import StorefrontTestKit
import Testing

/// A chat member's stream, as the chat use case serves it: the rules of joining and talking.
@Suite("ChatRooms", .timeLimit(.minutes(1)))
struct ChatRoomsTests {
  /// What `rooms` sends to a member whose stream is `inputs`, and what it throws.
  static func serve(
    _ rooms: ChatRooms,
    _ inputs: [ChatInput],
    username: String? = nil
  ) async -> (sent: [ChatRecord], error: (any Error)?) {
    let sent = Sent()
    do {
      try await rooms.serve(inputs.async, username: username) { sent.append($0) }
      return (sent.records, nil)
    } catch {
      return (sent.records, error)
    }
  }

  @Test("a member joins, talks and leaves; the signed-in name wins over the claimed one")
  func joinTalkLeave() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let rooms = ChatRooms(hub: fixture.chat, products: fixture.store)
      let (sent, error) = await Self.serve(
        rooms,
        [
          ChatInput(room: product.id, sender: "mallory", kind: .join),
          ChatInput(text: "hello", kind: .message),
          ChatInput(kind: .leave),
        ],
        username: "ada"
      )
      #expect(error == nil)
      #expect(sent.map(\.kind) == [.join, .message])
      #expect(sent.map(\.sender) == ["ada", "ada"])
      #expect(sent.last?.text == "hello")
    }
  }

  @Test("broken rules end the stream with invalidArgument or notFound, naming the field")
  func rules() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let rooms = ChatRooms(hub: fixture.chat, products: fixture.store)
      let join = ChatInput(room: product.id, sender: "ada", kind: .join)
      let cases: [(inputs: [ChatInput], code: StorefrontError.Code, field: String?)] = [
        ([ChatInput(text: "hi", kind: .message)], .invalidArgument, "kind"),
        ([ChatInput(room: "", sender: "ada", kind: .join)], .invalidArgument, "room"),
        ([ChatInput(room: product.id, sender: " ", kind: .join)], .invalidArgument, "sender"),
        ([ChatInput(room: "p_gone", sender: "ada", kind: .join)], .notFound, nil),
        ([join, ChatInput(room: "p_other", text: "hi", kind: .message)], .invalidArgument, "room"),
        ([join, ChatInput(room: product.id, kind: .join)], .invalidArgument, "kind"),
        ([join, ChatInput(kind: .other)], .invalidArgument, "kind"),
        ([join, ChatInput(text: "a\u{1B}b", kind: .message)], .invalidArgument, "text"),
      ]
      for (inputs, code, field) in cases {
        let error = await Self.serve(rooms, inputs).error as? StorefrontError
        #expect(error?.code == code)
        #expect(error?.fieldViolations.first?.field == field)
      }
      #expect(fixture.chat.memberCount(room: product.id) == 0)
    }
  }
}

/// What a served member was sent.
private final class Sent: Sendable {
  private let state = Locked<[ChatRecord]>([])
  var records: [ChatRecord] { self.state.value }
  func append(_ record: ChatRecord) { self.state.withLock { $0.append(record) } }
}

extension Array where Element: Sendable {
  /// The elements as an asynchronous sequence that never fails... but is typed to, as a
  /// request stream is.
  fileprivate var async: AsyncThrowingStream<Element, any Error> {
    AsyncThrowingStream { continuation in
      for element in self { continuation.yield(element) }
      continuation.finish()
    }
  }
}
