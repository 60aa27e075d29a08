import Foundation
import Logging
import PostgresNIO
public import StorefrontCore

extension PostgresStore: ProductChangeStore, ChangeFeedBacked {
  /// The change log's head (the newest sequence handed out, pruned or not) and how far it
  /// is pruned; `locking` takes the row's lock, which every product writer takes first.
  static func changeState(
    _ connection: PostgresConnection,
    logger: Logger,
    locking: Bool = false
  ) async throws -> (head: Int64, prunedThrough: Int64) {
    let rows = try await connection.rows(
      PostgresQuery(
        unsafeSQL: "SELECT head, pruned_through FROM product_change_state"
          + (locking ? " FOR UPDATE" : "")
      ),
      logger: logger
    )
    guard let row = rows.first else {
      throw StorefrontError(code: .internalError, message: "the change log has no state row")
    }
    return (try row["head"].decode(Int64.self), try row["pruned_through"].decode(Int64.self))
  }

  /// Appends the change of product `id`, as its row now is, to the change log under the
  /// writer's next sequence; call it after the write (before it, for a delete), in the
  /// write's transaction.
  static func recordChange(
    _ kind: ProductChange.Kind,
    of id: String,
    previousCategory: String? = nil,
    at time: Date,
    with writer: ChangeWriter
  ) async throws {
    let sequence = writer.nextSequence()
    try await writer.connection.run(
      """
      INSERT INTO product_change (sequence, kind, change_time, previous_category, id, sku, name,
        description, category, price_cents, currency, stock, create_time, update_time, etag,
        image_ids)
      SELECT \(sequence), \(kind.rawValue), \(Self.databaseTime(time)), \(previousCategory),
        \(unescaped: Self.productColumns)
      FROM product WHERE id = \(id)
      """,
      logger: writer.logger
    )
  }

  /// Ends a write's transaction: stores the new head, prunes, and reads back what the feed
  /// needs to hear of the commit.
  /// - Returns: the commit for the feed; nil when the write appended nothing.
  func finish(_ writer: ChangeWriter, before: Int64) async throws -> ChangeFeed.Commit? {
    let after = writer.head
    guard after != before else { return nil }
    let connection = writer.connection
    let logger = writer.logger
    try await connection.run(
      "UPDATE product_change_state SET head = \(after)",
      logger: logger
    )
    // Delivered at commit, in commit order, to every replica's ChangeFollower.
    try await connection.run(
      "SELECT pg_notify(\(ChangeFollower.channel), \(String(after)))",
      logger: logger
    )
    let changes =
      self.feed.wantsChanges(count: after - before)
      ? try await Self.changes(
        connection.rows(
          """
          SELECT * FROM product_change WHERE sequence > \(before) AND sequence <= \(after)
          ORDER BY sequence
          """,
          logger: logger
        )
      ) : nil
    var changed = changes?.map(\.product.id) ?? []
    if changes == nil {
      changed = try await connection.rows(
        "SELECT id FROM product_change WHERE sequence > \(before) ORDER BY sequence",
        logger: logger
      ).map { try $0["id"].decode(String.self) }
    }
    // What this commit pruned is all the tail needs to drop: it starts after a head, and
    // nothing older than a head is pruned without a commit that says so.
    let pruned = try await Self.pruneChanges(
      writer,
      head: after,
      before: before,
      retention: self.changeRetention
    )
    return ChangeFeed.Commit(
      previousHead: before,
      head: after,
      changes: changes,
      changedIDs: changed,
      prunedThrough: pruned
    )
  }

  /// Drops the changes that `retention` no longer keeps, as SQLite's store does: in the
  /// transaction of a write that moved the head from `before` to `head`, about ten times per
  /// `maxCount` changes, at most one scan window per pass.
  /// - Returns: the sequence it pruned through now; 0 when it pruned nothing.
  static func pruneChanges(
    _ writer: ChangeWriter,
    head: Int64,
    before: Int64,
    retention: ChangeRetention
  ) async throws -> Int64 {
    let interval = max(1, min(1_000, retention.maxCount / 10))
    guard head / interval != before / interval else { return 0 }
    let connection = writer.connection
    let logger = writer.logger
    let cutoff = Self.databaseTime(Date()) - retention.maxAge.wholeMicroseconds
    let tooOld =
      try await connection.rows(
        """
        SELECT MAX(sequence) AS sequence FROM (
          SELECT sequence, change_time FROM product_change ORDER BY sequence
          LIMIT \(ProductChange.logScanWindow)
        ) AS oldest WHERE change_time < \(cutoff)
        """,
        logger: logger
      ).first?["sequence"].decode(Int64?.self) ?? 0
    let pruned = try await Self.changeState(connection, logger: logger).prunedThrough
    let horizon = min(max(head - retention.maxCount, tooOld), pruned + ProductChange.logScanWindow)
    guard horizon > pruned else { return 0 }
    try await connection.run(
      "DELETE FROM product_change WHERE sequence <= \(horizon)",
      logger: logger
    )
    try await connection.run(
      "UPDATE product_change_state SET pruned_through = GREATEST(pruned_through, \(horizon))",
      logger: logger
    )
    return horizon
  }

  public func latestChangeSequence() async throws -> Int64 {
    let logger = self.logger
    return try await self.withConnection { connection in
      try await Self.changeState(connection, logger: logger).head
    }
  }

  /// The changes of rows of the change log.
  static func changes(_ rows: [PostgresRandomAccessRow]) throws -> [ProductChange] {
    try rows.map { row in
      ProductChange(
        sequence: try row["sequence"].decode(Int64.self),
        kind: ProductChange.Kind(rawValue: try row["kind"].decode(Int.self)) ?? .updated,
        product: try Self.product(from: row),
        previousCategory: try row["previous_category"].decode(String?.self),
        changeTime: Self.date(fromDatabase: try row["change_time"].decode(Int64.self))
      )
    }
  }

  /// Read from the log on one snapshot; ``CachedCatalogue`` answers caught-up watchers from
  /// the feed's tail first.
  public func changes(
    after sequence: Int64,
    matching filter: ChangeFilter,
    limit: Int
  ) async throws -> (changes: [ProductChange], through: Int64) {
    let logger = self.logger
    return try await self.read { connection in
      let (head, pruned) = try await Self.changeState(connection, logger: logger)
      let window = try ProductChange.scanWindow(after: sequence, head: head, pruned: pruned)
      var binds = PostgresBindings()
      binds.append(sequence)
      binds.append(window)
      var sql = "SELECT * FROM product_change WHERE sequence > $1 AND sequence <= $2"
      if let category = filter.category {
        guard !Self.containsNUL(category) else { return ([], window) }
        binds.append(category)
        sql += " AND (category = $\(binds.count) OR previous_category = $\(binds.count))"
      }
      if !filter.ids.isEmpty {
        // An id with a NUL matches nothing; with none left, nothing does.
        let ids = filter.ids.filter { !Self.containsNUL($0) }
        guard !ids.isEmpty else { return ([], window) }
        binds.append(ids.sorted())
        sql += " AND id = ANY($\(binds.count))"
      }
      binds.append(max(1, limit))
      sql += " ORDER BY sequence LIMIT $\(binds.count)"
      let changes = try Self.changes(
        try await connection.rows(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
      )
      let through = changes.count >= max(1, limit) ? changes[changes.count - 1].sequence : window
      return (changes, through)
    }
  }
}
