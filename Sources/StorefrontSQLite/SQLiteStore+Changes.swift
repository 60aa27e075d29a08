import Foundation
import GRDB
public import StorefrontCore

extension SQLiteStore: ProductChangeStore, ChangeFeedBacked {
  /// The newest sequence handed out, pruned or not.
  static func changeHead(_ db: Database) throws -> Int64 {
    try Int64.fetchOne(
      db.cachedStatement(sql: "SELECT seq FROM sqlite_sequence WHERE name = 'product_change'")
    ) ?? 0
  }

  /// The newest sequence pruned; 0 when nothing ever was.
  static func prunedThrough(_ db: Database) throws -> Int64 {
    try Int64.fetchOne(
      db.cachedStatement(sql: "SELECT pruned_through FROM product_change_state")
    ) ?? 0
  }

  /// Appends the change of product `id`, as its row now is, to the change log; call it
  /// after the write (before it, for a delete), in the write's transaction.
  static func recordChange(
    _ kind: ProductChange.Kind,
    of id: String,
    previousCategory: String? = nil,
    at time: Date,
    in db: Database
  ) throws {
    try db.execute(
      cached: """
        INSERT INTO product_change (kind, change_time, previous_category, id, sku, name,
          description, category, price_cents, currency, stock, create_time, update_time, etag,
          image_ids)
        SELECT ?, ?, ?, \(Self.productColumns) FROM product WHERE id = ?
        """,
      arguments: [kind.rawValue, Self.databaseTime(time), previousCategory, id]
    )
  }

  /// Drops the changes that `retention` no longer keeps. Runs in the transaction of a write
  /// that moved the head from `before` to `head`, about ten times per `maxCount` changes.
  /// - Returns: the sequence it pruned through now; 0 when it pruned nothing.
  static func pruneChanges(
    _ db: Database,
    head: Int64,
    before: Int64,
    retention: ChangeRetention
  ) throws -> Int64 {
    let interval = max(1, min(1_000, retention.maxCount / 10))
    guard head / interval != before / interval else { return 0 }
    let cutoff = Self.databaseTime(Date()) - retention.maxAge.wholeMicroseconds
    // The oldest changes past their age, looking at a bounded number of rows per pass.
    let tooOld =
      try Int64.fetchOne(
        db.cachedStatement(
          sql: """
            SELECT MAX(sequence) FROM (
              SELECT sequence, change_time FROM product_change ORDER BY sequence LIMIT ?
            ) WHERE change_time < ?
            """
        ),
        arguments: [ProductChange.logScanWindow, cutoff]
      ) ?? 0
    // At most one scan window per pass, so that one write never carries a huge deletion
    // (after the retention was lowered, say); later writes prune the rest.
    let pruned = try Self.prunedThrough(db)
    let horizon = min(max(head - retention.maxCount, tooOld), pruned + ProductChange.logScanWindow)
    guard horizon > pruned else { return 0 }
    try db.execute(cached: "DELETE FROM product_change WHERE sequence <= ?", arguments: [horizon])
    try db.execute(
      cached: "UPDATE product_change_state SET pruned_through = MAX(pruned_through, ?)",
      arguments: [horizon]
    )
    return horizon
  }

  public func latestChangeSequence() async throws -> Int64 {
    try await self.read(Self.changeHead)
  }

  /// The changes that `statement` (a `SELECT *` of the change log) reads.
  static func changes(
    _ statement: Statement,
    _ arguments: StatementArguments
  ) throws -> [ProductChange] {
    let rows = try Row.fetchAll(statement, arguments: arguments)
    guard let first = rows.first else { return [] }
    // Looked up once for all rows (see ``ProductColumns``).
    let indexes = ColumnIndexes(of: first)
    let columns = ProductColumns(indexes)
    let sequence = indexes["sequence"]
    let kind = indexes["kind"]
    let previousCategory = indexes["previous_category"]
    let changeTime = indexes["change_time"]
    return rows.map { row in
      ProductChange(
        sequence: row[sequence],
        kind: ProductChange.Kind(rawValue: row[kind]) ?? .updated,
        product: Self.product(from: row, columns: columns),
        previousCategory: row[previousCategory],
        changeTime: Self.date(fromDatabase: row[changeTime])
      )
    }
  }

  /// Read from the log; ``CachedCatalogue`` answers caught-up watchers from the feed's tail
  /// first.
  public func changes(
    after sequence: Int64,
    matching filter: ChangeFilter,
    limit: Int
  ) async throws -> (changes: [ProductChange], through: Int64) {
    try await self.read { db in
      let pruned = try Self.prunedThrough(db)
      let head = try Self.changeHead(db)
      let window = try ProductChange.scanWindow(after: sequence, head: head, pruned: pruned)
      var sql = "SELECT * FROM product_change WHERE sequence > ? AND sequence <= ?"
      var arguments: StatementArguments = [sequence, window]
      if let category = filter.category {
        guard !Self.containsNUL(category) else { return ([], window) }
        sql += " AND (category = ? OR previous_category = ?)"
        arguments += [category, category]
      }
      if !filter.ids.isEmpty {
        // An id with a NUL matches nothing (see `containsNUL`); with none left, nothing does.
        let ids = filter.ids.filter { !Self.containsNUL($0) }
        guard !ids.isEmpty else { return ([], window) }
        sql +=
          " AND id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ",")))"
        arguments += StatementArguments(ids.sorted())
      }
      sql += " ORDER BY sequence LIMIT ?"
      arguments += [max(1, limit)]
      // Not a cached statement: the filters make too many shapes of it.
      let changes = try Self.changes(db.makeStatement(sql: sql), arguments)
      let through = changes.count >= max(1, limit) ? changes[changes.count - 1].sequence : window
      return (changes, through)
    }
  }
}
