import Foundation
import GRDB
public import StorefrontCore

extension SQLiteStore: ProductStore {
  /// The columns of a product row, with its image ids folded into one as
  /// `position:id,position:id…`. SQLite before 3.44 leaves the order of `group_concat`
  /// unspecified, so each id carries its position and ``product(from:)`` sorts.
  static let productColumns = """
    id, sku, name, description, category, price_cents, currency, stock, create_time,
    update_time, etag,
    (SELECT group_concat(position || ':' || id, ',') FROM image
      WHERE product_id = product.id) AS image_ids
    """

  /// The image ids of a folded `image_ids` column, in position order.
  static func imageIDs(folded: String?) -> [String] {
    guard let folded else { return [] }
    return folded.split(separator: ",")
      .compactMap { entry -> (position: Int, id: String)? in
        guard let colon = entry.firstIndex(of: ":"), let position = Int(entry[..<colon]) else {
          return nil
        }
        return (position, String(entry[entry.index(after: colon)...]))
      }
      .sorted { $0.position < $1.position }
      .map(\.id)
  }

  /// Where a product's columns are in the rows of one statement, looked up once for all its
  /// rows: GRDB finds a column by name by lowercasing every column's name, each time, which
  /// was 13% of a listing's samples when each row looked up its twelve columns.
  struct ProductColumns {
    let id, sku, name, description, category, priceCents, currency, stock: Int
    let createTime, updateTime, etag, imageIDs: Int

    /// The columns among `columns`.
    init(_ columns: ColumnIndexes) {
      self.id = columns["id"]
      self.sku = columns["sku"]
      self.name = columns["name"]
      self.description = columns["description"]
      self.category = columns["category"]
      self.priceCents = columns["price_cents"]
      self.currency = columns["currency"]
      self.stock = columns["stock"]
      self.createTime = columns["create_time"]
      self.updateTime = columns["update_time"]
      self.etag = columns["etag"]
      self.imageIDs = columns["image_ids"]
    }
  }

  /// The index of each column in the rows of one statement, by lowercase name (SQLite's names
  /// are not case-sensitive), read once from one of its rows.
  struct ColumnIndexes {
    private let indexes: [String: Int]

    init(of row: Row) {
      var indexes: [String: Int] = [:]
      // The first column of a name, as GRDB's look-up by name finds.
      for (index, name) in row.columnNames.enumerated() where indexes[name.lowercased()] == nil {
        indexes[name.lowercased()] = index
      }
      self.indexes = indexes
    }

    /// The index of column `name`, which the statement has.
    subscript(name: String) -> Int {
      guard let index = self.indexes[name] else {
        preconditionFailure("the statement has no column \(name)")
      }
      return index
    }
  }

  static func product(from row: Row) -> Product {
    Self.product(from: row, columns: ProductColumns(ColumnIndexes(of: row)))
  }

  /// The products of `rows`, all from one statement.
  static func products(from rows: [Row]) -> [Product] {
    guard let first = rows.first else { return [] }
    let columns = ProductColumns(ColumnIndexes(of: first))
    return rows.map { Self.product(from: $0, columns: columns) }
  }

  static func product(from row: Row, columns: ProductColumns) -> Product {
    Product(
      id: row[columns.id],
      draft: ProductDraft(
        sku: row[columns.sku],
        name: row[columns.name],
        description: row[columns.description],
        category: row[columns.category],
        priceCents: row[columns.priceCents],
        currency: row[columns.currency],
        stock: row[columns.stock]
      ),
      imageIDs: Self.imageIDs(folded: row[columns.imageIDs]),
      createTime: Self.date(fromDatabase: row[columns.createTime]),
      updateTime: Self.date(fromDatabase: row[columns.updateTime]),
      etag: row[columns.etag]
    )
  }

  /// Whether `text` holds a NUL. SQLite receives strings from GRDB as C strings, cut at the
  /// first NUL, so such a value would match another one; no stored value contains NUL
  /// (validation refuses control characters, ids are generated), so it matches nothing.
  static func containsNUL(_ text: String) -> Bool {
    text.utf8.contains(0)
  }

  static func fetchProduct(_ db: Database, id: String) throws -> Product {
    guard !Self.containsNUL(id) else { throw StorefrontError.notFound("product", id: id) }
    let row = try Row.fetchOne(
      db.cachedStatement(sql: "SELECT \(Self.productColumns) FROM product WHERE id = ?"),
      arguments: [id]
    )
    guard let row else { throw StorefrontError.notFound("product", id: id) }
    return Self.product(from: row)
  }

  /// Gives the product a new etag and update time; every write to a product goes through here.
  static func touch(_ db: Database, id: String, at now: Date) throws {
    try db.execute(
      cached: "UPDATE product SET etag = ?, update_time = ? WHERE id = ?",
      arguments: [Identifier.makeETag(), Self.databaseTime(now), id]
    )
  }

  /// Read from the database; ``CachedCatalogue`` answers from the feed's cache first.
  public func product(id: String) async throws -> Product {
    try await self.read { db in try Self.fetchProduct(db, id: id) }
  }

  public func product(sku: String) async throws -> Product? {
    guard !Self.containsNUL(sku) else { return nil }
    return try await self.read { db in
      try Row.fetchOne(
        db.cachedStatement(sql: "SELECT \(Self.productColumns) FROM product WHERE sku = ?"),
        arguments: [sku]
      ).map(Self.product(from:))
    }
  }

  public func products(matching filter: ProductFilter, limit: Int) async throws -> [Product] {
    var clauses: [String] = []
    var arguments: StatementArguments = []
    func match(_ clause: String, _ values: StatementArguments) {
      clauses.append(clause)
      arguments += values
    }
    // A NUL in a filter would be cut off by SQLite and match more; it can match nothing.
    if [filter.category, filter.query].contains(where: { $0.map(Self.containsNUL) == true }) {
      return []
    }
    if let afterID = filter.afterID { match("id > ?", [afterID]) }
    if let category = filter.category { match("category = ?", [category]) }
    if let query = filter.query, !query.isEmpty {
      let folded = query.lowercased()
      match(
        "(instr(storefront_fold(name), ?) > 0 OR instr(storefront_fold(description), ?) > 0)",
        [folded, folded]
      )
    }
    if let minimum = filter.minPriceCents { match("price_cents >= ?", [minimum]) }
    if let maximum = filter.maxPriceCents { match("price_cents <= ?", [maximum]) }
    let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
    arguments += [max(0, limit)]
    let sql = "SELECT \(Self.productColumns) FROM product \(whereClause) ORDER BY id LIMIT ?"
    let finalArguments = arguments
    return try await self.read { db in
      try Self.products(from: Row.fetchAll(db, sql: sql, arguments: finalArguments))
    }
  }

  public func insert(_ draft: ProductDraft) async throws -> Product {
    let product = Self.newProduct(draft)
    try await self.write { db in try Self.insert(product, into: db) }
    return product
  }

  public func insert(contentsOf drafts: [ProductDraft]) async throws -> Int {
    try await self.write { db in
      for draft in drafts {
        try Self.insert(Self.newProduct(draft), into: db)
      }
      return drafts.count
    }
  }

  public func upsert(_ drafts: [ProductDraft]) async throws -> [UpsertOutcome] {
    try await self.write { db in
      try drafts.map { draft in
        let existing = try String.fetchOne(
          db.cachedStatement(sql: "SELECT id FROM product WHERE sku = ?"),
          arguments: [draft.sku]
        )
        guard let id = existing else {
          try Self.insert(Self.newProduct(draft), into: db)
          return .created
        }
        let current = try Self.fetchProduct(db, id: id)
        guard current.draft != draft else { return .unchanged }
        try Self.overwrite(id: id, from: current.draft, with: draft, in: db)
        return .updated
      }
    }
  }

  /// A new product with a fresh id and etag, created now.
  private static func newProduct(_ draft: ProductDraft) -> Product {
    let now = Self.now()
    return Product(
      id: Identifier.make(prefix: "p", now: now),
      draft: draft,
      createTime: now,
      updateTime: now,
      etag: Identifier.makeETag()
    )
  }

  /// Inserts a new product and logs its creation.
  private static func insert(_ product: Product, into db: Database) throws {
    let draft = product.draft
    try db.execute(
      cached: """
        INSERT INTO product (id, sku, name, description, category, price_cents, currency,
          stock, create_time, update_time, etag)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        product.id, draft.sku, draft.name, draft.description, draft.category,
        draft.priceCents, draft.currency, draft.stock, Self.databaseTime(product.createTime),
        Self.databaseTime(product.updateTime), product.etag,
      ]
    )
    try Self.recordChange(.created, of: product.id, at: product.updateTime, in: db)
  }

  /// Replaces a product's client-writable fields, touches it and logs the update.
  private static func overwrite(
    id: String,
    from current: ProductDraft,
    with draft: ProductDraft,
    in db: Database
  ) throws {
    try db.execute(
      cached: """
        UPDATE product SET sku = ?, name = ?, description = ?, category = ?,
          price_cents = ?, currency = ?, stock = ?
        WHERE id = ?
        """,
      arguments: [
        draft.sku, draft.name, draft.description, draft.category, draft.priceCents,
        draft.currency, draft.stock, id,
      ]
    )
    let now = Self.now()
    try Self.touch(db, id: id, at: now)
    try Self.recordChange(
      .updated,
      of: id,
      previousCategory: current.category != draft.category ? current.category : nil,
      at: now,
      in: db
    )
  }

  public func update(_ update: ProductUpdate) async throws -> Product {
    try await self.write { db in
      let current = try Self.fetchProduct(db, id: update.id)
      let draft = try update.apply(to: current)
      try Self.overwrite(id: update.id, from: current.draft, with: draft, in: db)
      return try Self.fetchProduct(db, id: update.id)
    }
  }

  public func delete(id: String, expectedETag: String?) async throws -> [String] {
    try await self.write { db in
      let current = try Self.fetchProduct(db, id: id)
      try ProductUpdate.checkETag(expectedETag, of: current)
      let hashes = try String.fetchAll(
        db.cachedStatement(sql: "SELECT DISTINCT sha256 FROM image WHERE product_id = ?"),
        arguments: [id]
      )
      try Self.recordChange(.deleted, of: id, at: Self.now(), in: db)
      try db.execute(cached: "DELETE FROM chat_message WHERE room = ?", arguments: [id])
      try db.execute(cached: "DELETE FROM product WHERE id = ?", arguments: [id])
      return try hashes.filter { hash in
        try !Bool.fetchOne(
          db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM image WHERE sha256 = ?)"),
          arguments: [hash]
        )!
      }
    }
  }

  public func productCount() async throws -> Int {
    try await self.read { db in
      try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM product")) ?? 0
    }
  }
}
