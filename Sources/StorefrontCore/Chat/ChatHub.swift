import Foundation
import Synchronization

/// The live chat rooms: who is in each, and the order in which every member sees messages.
///
/// The store hands out a room's sequences and makes each message visible only after every
/// one below it; the hub delivers to every member strictly in sequence order, each message
/// once, so all members see one order and nobody sees a message the store has not
/// acknowledged. Messages said here are delivered as their append returns; messages stored
/// by other processes (told by ``ChatNotices``), and any the hub finds it has not seen, are
/// read from the store. Members of one room on several replicas thus see the same order.
public final class ChatHub: Sendable {
  private struct Room {
    var members: [UInt64: ChatOutbox] = [:]
    /// The sequence the room delivers next; meaningful while it has members.
    var nextToDeliver: Int64 = 1
    /// Messages said here, waiting for their turn.
    var pending: [Int64: ChatRecord] = [:]
    /// The highest sequence known to be stored.
    var knownHead: Int64 = 0
    /// Whether a task is reading missed messages from the store.
    var isFetching = false

    /// Whether messages below ``knownHead`` wait to be read from the store.
    var isBehind: Bool {
      !self.members.isEmpty && self.knownHead >= self.nextToDeliver
    }

    /// Whether a task should now read missed messages from the store; if so, marks the room
    /// as fetching, so that one task at a time does.
    mutating func claimFetch() -> Bool {
      guard self.isBehind, !self.isFetching else { return false }
      self.isFetching = true
      return true
    }

    /// Delivers what is pending from ``nextToDeliver`` on, in order, and forgets outboxes
    /// that have ended.
    mutating func deliverPending() {
      while let next = self.pending.removeValue(forKey: self.nextToDeliver) {
        self.nextToDeliver += 1
        for (memberID, outbox) in self.members where !outbox.push(next) {
          // The outbox ended itself (too slow) or had ended; its stream will call leave.
          self.members[memberID] = nil
        }
      }
    }
  }

  private struct State {
    /// Every room joined since start, and what is known of its sequences. A room stays when
    /// its last member leaves: it is small, there is at most one per product, and it keeps
    /// hearing of messages, so a member joining later misses none.
    var rooms: [String: Room] = [:]
    var nextMemberID: UInt64 = 1
    var isShuttingDown = false
  }

  private let state = Mutex(State())
  private let store: any ChatStore
  /// The limits the hub enforces.
  public let limits: ChatLimits
  /// How many messages one read from the store brings.
  static let fetchBatch = 256

  /// - Parameters:
  ///   - store: where messages are stored, and their order kept.
  ///   - limits: room sizes, queue lengths and message limits.
  public init(store: any ChatStore, limits: ChatLimits = ChatLimits()) {
    self.store = store
    self.limits = limits
    store.chatNotices?.listen { [weak self] notice in self?.hear(notice) }
  }

  /// Adds a member to `room`, announces it, and returns its membership with the room's recent
  /// history. The caller checks that the room exists, and calls ``leave(_:)`` when done.
  /// - Throws: ``StorefrontError`` `resourceExhausted` when the room is full, `unavailable`
  ///   during shutdown, `notFound` when the room closed meanwhile; store errors.
  public func join(room: String, sender: String) async throws -> ChatMembership {
    // The room exists before the store is asked for its head, so that it hears of every
    // message stored after that reading.
    try self.state.withLock { state throws(StorefrontError) in
      let current = state.rooms[room] ?? Room()
      try self.checkRoom(state, current)
      state.rooms[room] = current
    }
    let lastStored = try await self.store.lastSequence(room: room)
    let outbox = ChatOutbox(capacity: self.limits.outboxCapacity)
    let (memberID, firstLive, fetch) = try self.state.withLock {
      state throws(StorefrontError) in
      guard var current = state.rooms[room] else {
        throw StorefrontError(code: .notFound, message: "room '\(room)' was closed")
      }
      try self.checkRoom(state, current)
      if current.members.isEmpty {
        // Nobody was delivered to: start from what the store holds now.
        current.nextToDeliver = lastStored + 1
        current.pending.removeAll()
      }
      current.knownHead = max(current.knownHead, lastStored)
      let memberID = state.nextMemberID
      state.nextMemberID += 1
      current.members[memberID] = outbox
      let fetch = current.claimFetch()
      state.rooms[room] = current
      return (memberID, current.nextToDeliver, fetch)
    }
    if fetch { self.fetchMissed(room: room) }
    // Everything below firstLive has been delivered, or was stored before the room's head
    // was read; everything from it on reaches the new member live. History and live
    // messages neither overlap nor gap.
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

  /// Refuses a member during shutdown and in a full room.
  private func checkRoom(_ state: State, _ room: Room) throws(StorefrontError) {
    guard !state.isShuttingDown else {
      throw StorefrontError(code: .unavailable, message: "the server is shutting down")
    }
    guard room.members.count < self.limits.maxMembersPerRoom else {
      throw StorefrontError(
        code: .resourceExhausted,
        message: "room is full: it holds at most \(self.limits.maxMembersPerRoom) members"
      )
    }
  }

  /// Stores a message and relays it to every member of the room, in sequence order. A room
  /// closed here (its product deleted) records nothing.
  /// - Throws: store errors; the message is then neither stored nor relayed.
  func publish(room: String, sender: String, text: String, kind: ChatKind) async throws {
    guard self.state.withLock({ $0.rooms[room] != nil }) else { return }
    let record = ChatRecord(
      room: room,
      sender: sender,
      text: text,
      kind: kind,
      sequence: 0,
      sentTime: Date()
    )
    let stored = try await self.store.append(record)
    self.deliver(stored)
  }

  /// Takes in a message stored here: delivers it in its turn, and reads from the store what
  /// comes before it when that is not here.
  private func deliver(_ record: ChatRecord) {
    self.update(room: record.room) { current in
      current.knownHead = max(current.knownHead, record.sequence)
      if !current.members.isEmpty, record.sequence >= current.nextToDeliver {
        current.pending[record.sequence] = record
        current.deliverPending()
      }
    }
  }

  /// Takes in a notice of the store.
  private func hear(_ notice: ChatNotices.Notice) {
    switch notice {
    case .committed(let room, let sequence):
      self.update(room: room) { $0.knownHead = max($0.knownHead, sequence) }
    case .closed(let room):
      self.closeRoom(room)
    case .resumed:
      // The heads are unknown: every occupied room reads from the store until it has no more.
      let rooms = self.state.withLock { state in
        state.rooms.filter { !$0.value.members.isEmpty }.map(\.key)
      }
      for room in rooms {
        self.update(room: room) { $0.knownHead = .max }
      }
    }
  }

  /// Applies `change` to `room`, if the hub has it, then starts reading from the store what
  /// the room has not delivered, if anything, and nobody reads it yet.
  private func update(room: String, _ change: (inout Room) -> Void) {
    let fetch = self.state.withLock { state -> Bool in
      guard var current = state.rooms[room] else { return false }
      change(&current)
      let fetch = current.claimFetch()
      state.rooms[room] = current
      return fetch
    }
    if fetch { self.fetchMissed(room: room) }
  }

  /// Reads the messages of `room` the hub has not delivered from the store and delivers
  /// them, until it has caught up with what it knows is stored; call after setting the
  /// room's `isFetching`. While the store fails it tries again every second.
  private func fetchMissed(room: String) {
    Task {
      while let (from, told) = self.state.withLock({ state -> (Int64, Int64)? in
        guard let current = state.rooms[room], !state.isShuttingDown else { return nil }
        return (current.nextToDeliver, current.knownHead)
      }) {
        let records: [ChatRecord]
        do {
          records = try await self.store.messages(
            room: room,
            after: from - 1,
            limit: Self.fetchBatch
          )
        } catch {
          try? await Task.sleep(for: .seconds(1))
          guard self.isStillBehind(room: room) else { return }
          continue
        }
        let again = self.state.withLock { state -> Bool in
          guard var current = state.rooms[room] else { return false }
          if current.nextToDeliver == from {
            if let first = records.first, first.sequence > from {
              // Missing from the store for good (its room was emptied): go on from there.
              current.nextToDeliver = first.sequence
            }
            if let last = records.last {
              current.knownHead = max(current.knownHead, last.sequence)
            } else if current.knownHead == told {
              // Nothing stored past what was delivered, and nothing told since the read:
              // what was told is gone (its room was emptied), or was a guess (`resumed`).
              current.knownHead = from - 1
            }
          }
          for record in records where record.sequence >= current.nextToDeliver {
            current.pending[record.sequence] = record
          }
          current.deliverPending()
          let again = current.isBehind
          current.isFetching = again
          state.rooms[room] = current
          return again
        }
        guard again else { return }
      }
      self.state.withLock { state in
        state.rooms[room]?.isFetching = false
      }
    }
  }

  /// Whether `room`'s members still wait for messages from the store; when not, ends its
  /// fetching.
  private func isStillBehind(room: String) -> Bool {
    self.state.withLock { state in
      guard var current = state.rooms[room] else { return false }
      if !current.isBehind {
        current.isFetching = false
        state.rooms[room] = current
      }
      return current.isBehind
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
