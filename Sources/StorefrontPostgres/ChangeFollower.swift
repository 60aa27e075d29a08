import Foundation
import Logging
import PostgresNIO
import StorefrontCore

/// Keeps a replica's ``ChangeFeed`` and chat rooms true to the database when other replicas
/// write too.
///
/// Every commit that appends to the change log notifies `storefront_changes` with its new
/// head, and every chat message `storefront_chat` with its sequence and room (NOTIFY is
/// delivered at commit, in commit order). The follower listens on a connection of its own;
/// told of a head past the feed's, it reads the changes in between from the log and records
/// them as one commit, so the cache forgets what other replicas wrote and watchers wake;
/// chat notices go to the ``ChatHub`` through ``ChatNotices``, which reads the messages from
/// the store. The payloads are sequences and ids only: the rows come from the database.
///
/// When the listening connection is lost, the feed may have missed commits: once listening
/// again, the follower drops the cache and the tail (``ChangeFeed/forgetAll(head:)``) and
/// the feed goes on from the log's head, so reads and watchers catch up from the database;
/// chat rooms catch up from their stored history (``ChatNotices/Notice/resumed``).
final class ChangeFollower: Sendable {
  /// The channel commits of the change log notify.
  static let channel = "storefront_changes"
  /// The channel chat messages notify: "SEQUENCE ROOM", or "closed ROOM" when a room's
  /// product is deleted.
  static let chatChannel = "storefront_chat"

  private let client: PostgresClient
  private let feed: ChangeFeed
  private let chat: ChatNotices
  private let reachability: Reachability
  private let gate: SerialGate
  private let logger: Logger

  init(
    client: PostgresClient,
    feed: ChangeFeed,
    chat: ChatNotices,
    reachability: Reachability,
    gate: SerialGate,
    logger: Logger
  ) {
    self.client = client
    self.feed = feed
    self.chat = chat
    self.reachability = reachability
    self.gate = gate
    self.logger = logger
  }

  /// Listens until cancelled, reconnecting a second after each loss.
  func run() async {
    var wasLost = false
    while !Task.isCancelled {
      do {
        try await self.client.withConnection { connection in
          try await connection.listen(on: Self.channel) { changes in
            try await connection.listen(on: Self.chatChannel) { chat in
              // Listening now: whatever commits from here on will be told.
              try await self.resume(afterLoss: wasLost)
              self.reachability.set(isDown: false)
              wasLost = false
              try await self.follow(changes: changes, chat: chat)
            }
          }
        }
      } catch {
        if Task.isCancelled { return }
        // Until it listens again, calls fail at once rather than wait for a connection.
        self.reachability.set(isDown: true)
        if !wasLost {
          self.logger.warning(
            "lost the database's change notifications; calls answer unavailable until back",
            metadata: ["error": "\(String(reflecting: error))"]
          )
        }
      }
      wasLost = true
      try? await Task.sleep(for: .seconds(1))
    }
  }

  /// Takes in both channels' notifications until either ends.
  private func follow(
    changes: PostgresNotificationSequence,
    chat: PostgresNotificationSequence
  ) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        for try await notification in changes {
          guard let head = Int64(notification.payload) else { continue }
          try await self.gate.run { try await self.catchUp(to: head) }
        }
      }
      group.addTask {
        for try await notification in chat {
          if let notice = Self.chatNotice(notification.payload) { self.chat.post(notice) }
        }
      }
      try await group.next()
      group.cancelAll()
    }
  }

  /// The chat notice a `storefront_chat` payload says; nil for one it cannot read.
  static func chatNotice(_ payload: String) -> ChatNotices.Notice? {
    guard let space = payload.firstIndex(of: " ") else { return nil }
    let first = payload[..<space]
    let room = String(payload[payload.index(after: space)...])
    guard !room.isEmpty else { return nil }
    if first == "closed" { return .closed(room: room) }
    return Int64(first).map { .committed(room: room, sequence: $0) }
  }

  /// Starts following from the log's head: after a loss, by forgetting everything the feed
  /// holds (commits may have been missed); at the start, by catching up.
  private func resume(afterLoss wasLost: Bool) async throws {
    try await self.gate.run {
      let head = try await self.readState().head
      if wasLost {
        self.feed.forgetAll(head: max(head, self.feed.head))
        self.chat.post(.resumed)
        self.logger.notice(
          "change notifications are back; the caches start again from the log",
          metadata: ["head": "\(head)"]
        )
      } else {
        try await self.catchUp(to: head)
      }
    }
  }

  /// Records in the feed the commits it has not heard of, up to `head`, read from the log.
  /// Call inside the gate, so that nothing else records meanwhile.
  func catchUp(to head: Int64) async throws {
    let from = self.feed.head
    guard head > from else { return }
    guard head - from <= ProductChange.logScanWindow else {
      // Too many to read at once (another replica's import): start again from the head.
      self.feed.forgetAll(head: head)
      return
    }
    let logger = self.logger
    let wantsChanges = self.feed.wantsChanges(count: head - from)
    let (changes, ids, pruned) = try await PostgresStore.withConnection(self.client) {
      connection in
      let pruned = try await PostgresStore.changeState(connection, logger: logger).prunedThrough
      let rows = try await connection.rows(
        """
        SELECT * FROM product_change WHERE sequence > \(from) AND sequence <= \(head)
        ORDER BY sequence
        """,
        logger: logger
      )
      let changes = try PostgresStore.changes(rows)
      return (wantsChanges ? changes : nil, changes.map(\.product.id), pruned)
    }
    guard pruned <= from else {
      // Some of the changes are gone: what they touched is unknown.
      self.feed.forgetAll(head: head)
      return
    }
    self.feed.record(
      ChangeFeed.Commit(
        previousHead: from,
        head: head,
        changes: changes,
        changedIDs: ids,
        prunedThrough: 0
      )
    )
  }

  private func readState() async throws -> (head: Int64, prunedThrough: Int64) {
    let logger = self.logger
    return try await PostgresStore.withConnection(self.client) { connection in
      try await PostgresStore.changeState(connection, logger: logger)
    }
  }
}
