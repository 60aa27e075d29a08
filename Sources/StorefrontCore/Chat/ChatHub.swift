import Foundation
import Synchronization

/// The live chat rooms: who is in each, and the order in which every member sees messages.
///
/// A room's sequence numbers are handed out under the hub's lock; each message is stored,
/// then delivered to every member strictly in sequence order, so all members see one order
/// and nobody sees a message the store has not acknowledged.
public final class ChatHub: Sendable {
  private struct Room {
    var members: [UInt64: ChatOutbox] = [:]
    /// The sequence the next message gets.
    var nextSequence: Int64
    /// The sequence the room delivers next; stored messages wait until it comes up.
    var nextToDeliver: Int64
    /// Stored (or, as nil, failed) messages waiting for their turn.
    var pending: [Int64: ChatRecord?] = [:]
  }

  private struct State {
    /// Every room joined since start. A room stays when its last member leaves, so that its
    /// sequence never restarts from a stale reading of the store; it is small, and there is
    /// at most one per product.
    var rooms: [String: Room] = [:]
    var nextMemberID: UInt64 = 1
    var isShuttingDown = false
  }

  private let state = Mutex(State())
  private let store: any ChatStore
  /// The limits the hub enforces.
  public let limits: ChatLimits

  /// - Parameters:
  ///   - store: where messages are stored before they are relayed.
  ///   - limits: room sizes, queue lengths and message limits.
  public init(store: any ChatStore, limits: ChatLimits = ChatLimits()) {
    self.store = store
    self.limits = limits
  }

  /// Adds a member to `room`, announces it, and returns its membership with the room's recent
  /// history. The caller checks that the room exists, and calls ``leave(_:)`` when done.
  /// - Throws: ``StorefrontError`` `resourceExhausted` when the room is full, `unavailable`
  ///   during shutdown; store errors.
  public func join(room: String, sender: String) async throws -> ChatMembership {
    let lastStored = try await self.store.lastSequence(room: room)
    let outbox = ChatOutbox(capacity: self.limits.outboxCapacity)
    let (memberID, firstLive) = try self.state.withLock { state throws(StorefrontError) in
      guard !state.isShuttingDown else {
        throw StorefrontError(code: .unavailable, message: "the server is shutting down")
      }
      var current =
        state.rooms[room] ?? Room(nextSequence: lastStored + 1, nextToDeliver: lastStored + 1)
      guard current.members.count < self.limits.maxMembersPerRoom else {
        throw StorefrontError(
          code: .resourceExhausted,
          message: "room is full: it holds at most \(self.limits.maxMembersPerRoom) members"
        )
      }
      let memberID = state.nextMemberID
      state.nextMemberID += 1
      current.members[memberID] = outbox
      state.rooms[room] = current
      return (memberID, current.nextToDeliver)
    }
    // Everything below firstLive has been delivered, hence stored; everything from it on
    // reaches the new member live. History and live messages neither overlap nor gap.
    let history: [ChatRecord]
    do {
      history = try await self.store.recentMessages(
        room: room,
        before: firstLive,
        limit: self.limits.historyLength
      )
    } catch {
      self.remove(memberID: memberID, room: room)
      outbox.finish(.left)
      throw error
    }
    let membership = ChatMembership(
      hub: self,
      room: room,
      sender: sender,
      memberID: memberID,
      outbox: outbox,
      history: history
    )
    do {
      try await self.publish(room: room, sender: sender, text: "\(sender) joined", kind: .join)
    } catch {
      await self.leave(membership, announce: false)
      throw error
    }
    return membership
  }

  /// Stores a message and relays it to every member of the room, in sequence order.
  /// - Throws: store errors; the message is then neither stored nor relayed.
  func publish(room: String, sender: String, text: String, kind: ChatKind) async throws {
    let now = Date()
    let sequence: Int64? = self.state.withLock { state in
      guard var current = state.rooms[room] else { return nil }
      let sequence = current.nextSequence
      current.nextSequence += 1
      state.rooms[room] = current
      return sequence
    }
    guard let sequence else { return }
    let record = ChatRecord(
      room: room,
      sender: sender,
      text: text,
      kind: kind,
      sequence: sequence,
      sentTime: now
    )
    let stored: ChatRecord
    do {
      stored = try await self.store.append(record)
    } catch {
      self.deliver(nil, sequence: sequence, room: room)
      throw error
    }
    self.deliver(stored, sequence: sequence, room: room)
  }

  private func deliver(_ record: ChatRecord?, sequence: Int64, room: String) {
    self.state.withLock { state in
      guard var current = state.rooms[room] else { return }
      current.pending[sequence] = .some(record)
      while let next = current.pending.removeValue(forKey: current.nextToDeliver) {
        current.nextToDeliver += 1
        guard let next else { continue }
        for (memberID, outbox) in current.members where !outbox.push(next) {
          // The outbox ended itself (too slow) or had ended; its stream will call leave.
          current.members[memberID] = nil
        }
      }
      state.rooms[room] = current
    }
  }

  /// Removes a member from its room and, unless told otherwise, records its LEAVE and tells
  /// the others. Calls after the first do nothing.
  public func leave(_ membership: ChatMembership, announce: Bool = true) async {
    guard membership.markLeft() else { return }
    let wasMember = self.remove(memberID: membership.memberID, room: membership.room)
    membership.outbox.finish(.left)
    if announce, wasMember || membership.outbox.ending == .tooSlow {
      // The history shows every leave, the last member's too (a room closed meanwhile, its
      // product deleted, records nothing). Leaving is clean-up, and often runs in a task that
      // is already cancelled (the client went away), where the store refuses to write.
      await uncancelled {
        try? await self.publish(
          room: membership.room,
          sender: membership.sender,
          text: "\(membership.sender) left",
          kind: .leave
        )
      }
    }
  }

  /// Removes a member from a room's list; true when it was there.
  @discardableResult
  private func remove(memberID: UInt64, room: String) -> Bool {
    self.state.withLock { state in
      guard var current = state.rooms[room] else { return false }
      let removed = current.members.removeValue(forKey: memberID) != nil
      state.rooms[room] = current
      return removed
    }
  }

  /// Closes a room whose product is gone: every member's stream ends with a notice, and
  /// messages in flight are dropped.
  public func closeRoom(_ room: String, notice: String = "This product was deleted.") {
    let outboxes = self.state.withLock { state in
      state.rooms.removeValue(forKey: room).map { Array($0.members.values) } ?? []
    }
    for outbox in outboxes {
      outbox.finish(.left, notice: .notice(room: room, notice))
    }
  }

  /// Ends every member's stream with a notice and refuses new members.
  public func shutdown(notice: String = "The server is shutting down.") {
    let outboxes = self.state.withLock { state in
      state.isShuttingDown = true
      return state.rooms.flatMap { room, value in value.members.values.map { (room, $0) } }
    }
    for (room, outbox) in outboxes {
      outbox.finish(.shutdown, notice: .notice(room: room, notice))
    }
  }

  /// How many rooms have members, and how many members they have in all.
  public var occupancy: (rooms: Int, members: Int) {
    self.state.withLock { state in
      let occupied = state.rooms.values.filter { !$0.members.isEmpty }
      return (occupied.count, occupied.reduce(0) { $0 + $1.members.count })
    }
  }

  /// How many members `room` has now.
  public func memberCount(room: String) -> Int {
    self.state.withLock { $0.rooms[room]?.members.count ?? 0 }
  }
}
