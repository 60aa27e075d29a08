import GRPCCore
import StorefrontAPI
import Synchronization

/// Chat rooms kept in memory: a member's first message joins a room, and every later message
/// goes to every member of that room, the sender included, in one order. A member's queue
/// holds at most 256 messages (the oldest are dropped past that), as Storefront's does.
final class BaselineRooms: Sendable {
  private struct Room {
    var sequence: Int64 = 0
    var members: [Int: AsyncStream<Storefront_V1_ChatMessage>.Continuation] = [:]
  }

  private struct State {
    var nextMember = 0
    var rooms: [String: Room] = [:]
  }

  private let state = Mutex(State())

  /// Serves one member until its client closes its side.
  func serve(
    request: RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>,
    response: RPCWriter<Storefront_V1_ChatMessage>
  ) async throws {
    var messages = request.makeAsyncIterator()
    guard let join = try await messages.next() else { return }
    let (outbox, continuation) = AsyncStream.makeStream(
      of: Storefront_V1_ChatMessage.self,
      bufferingPolicy: .bufferingNewest(256)
    )
    let member = self.state.withLock { state in
      state.nextMember += 1
      state.rooms[join.room, default: Room()].members[state.nextMember] = continuation
      return state.nextMember
    }
    defer {
      self.state.withLock { state in
        state.rooms[join.room]?.members[member] = nil
        if state.rooms[join.room]?.members.isEmpty == true { state.rooms[join.room] = nil }
      }
      continuation.finish()
    }
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        for await message in outbox {
          try await response.write(message)
        }
      }
      while let message = try await messages.next() {
        self.state.withLock { state in
          guard let sequence = state.rooms[join.room].map({ $0.sequence + 1 }) else { return }
          state.rooms[join.room]?.sequence = sequence
          var relayed = message
          relayed.sequence = sequence
          for member in state.rooms[join.room]?.members.values ?? Room().members.values {
            member.yield(relayed)
          }
        }
      }
      continuation.finish()
    }
  }
}
