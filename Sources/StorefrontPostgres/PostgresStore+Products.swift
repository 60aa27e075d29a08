import Foundation
import Logging
import PostgresNIO
public import StorefrontCore

extension PostgresStore: ProductStore {
  /// The columns of a product row, with its image ids in position order.
  static let productColumns = """
    id, sku, name, description, category, price_cents, currency, stock, create_time,
    update_time, etag,
    ARRAY(SELECT image.id FROM image WHERE image.product_id = product.id
      ORDER BY image.position) AS image_ids
    """

  static func product(from row: PostgresRandomAccessRow) throws -> Product {
    Product(
      id: try row["id"].decode(String.self),
      draft: ProductDraft(
        sku: try row["sku"].decode(String.self),
        name: try row["name"].decode(String.self),
        description: try row["description"].decode(String.self),
        category: try row["category"].decode(String.self),
        priceCents: try row["price_cents"].decode(Int64.self),
        currency: try row["currency"].decode(String.self),
        stock: try row["stock"].decode(Int32.self)
      ),
      imageIDs: try row["image_ids"].decode([String].self),
      createTime: Self.date(fromDatabase: try row["create_time"].decode(Int64.self)),
      updateTime: Self.date(fromDatabase: try row["update_time"].decode(Int64.self)),
      etag: try row["etag"].decode(String.self)
    )
  }

  static func fetchProduct(
    _ connection: PostgresConnection,
    id: String,
    logger: Logger
  ) async throws -> Product {
    guard !Self.containsNUL(id) else { throw StorefrontError.notFound("product", id: id) }
    let rows = try await connection.rows(
      "SELECT \(unescaped: Self.productColumns) FROM product WHERE id = \(id)",
      logger: logger
    )
    guard let row = rows.first else { throw StorefrontError.notFound("product", id: id) }
    return try Self.product(from: row)
  }

  /// Gives the product a new etag and update time; every write to a product goes through here.
  static func touch(_ writer: ChangeWriter, id: String, at now: Date) async throws {
    try await writer.connection.run(
      """
      UPDATE product SET etag = \(Identifier.makeETag()), update_time = \(Self.databaseTime(now))
      WHERE id = \(id)
      """,
      logger: writer.logger
    )
  }

  /// Read from the database; ``CachedCatalogue`` answers from the feed's cache first.
  public func product(id: String) async throws -> Product {
    let logger = self.logger
    return try await self.read { connection in
      try await Self.fetchProduct(connection, id: id, logger: logger)
    }
  }

  public func product(sku: String) async throws -> Product? {
    guard !Self.containsNUL(sku) else { return nil }
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows(
        "SELECT \(unescaped: Self.productColumns) FROM product WHERE sku = \(sku)",
        logger: logger
      ).first.map(Self.product(from:))
    }
  }

  public func products(matching filter: ProductFilter, limit: Int) async throws -> [Product] {
    // A NUL in a filter can match nothing: no stored value holds one.
    if [filter.category, filter.query].contains(where: { $0.map(Self.containsNUL) == true }) {
      return []
    }
    var clauses: [String] = []
    var binds = PostgresBindings()
    func match(_ clause: (Int) -> String, _ value: some PostgresNonThrowingEncodable) {
      binds.append(value)
      clauses.append(clause(binds.count))
    }
    if let afterID = filter.afterID {
      // SQLite compares the id up to a NUL; so does this.
      match({ "id > $\($0)" }, String(afterID.prefix(while: { $0 != "\0" })))
    }
    if let category = filter.category { match({ "category = $\($0)" }, category) }
    if let query = filter.query, !query.isEmpty {
      // The folded columns hold Swift's `lowercased()` of each, as SQLite's storefront_fold.
      match(
        { "(strpos(name_folded, $\($0)) > 0 OR strpos(description_folded, $\($0)) > 0)" },
        query.lowercased()
      )
    }
    if let minimum = filter.minPriceCents { match({ "price_cents >= $\($0)" }, minimum) }
    if let maximum = filter.maxPriceCents { match({ "price_cents <= $\($0)" }, maximum) }
    let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
    binds.append(max(0, limit))
    let query = PostgresQuery(
      unsafeSQL:
        "SELECT \(Self.productColumns) FROM product \(whereClause) ORDER BY id LIMIT $\(binds.count)",
      binds: binds
    )
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows(query, logger: logger).map(Self.product(from:))
    }
  }

  public func insert(_ draft: ProductDraft) async throws -> Product {
    let product = Self.newProduct(draft)
    try await self.write { writer in try await Self.insert(product, with: writer) }
    return product
  }

  /// A new product with a fresh id and etag, created now.
  static func newProduct(_ draft: ProductDraft) -> Product {
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
  static func insert(_ product: Product, with writer: ChangeWriter) async throws {
    let draft = product.draft
    try await writer.connection.run(
      """
      INSERT INTO product (id, sku, name, description, name_folded, description_folded,
        category, price_cents, currency, stock, create_time, update_time, etag)
      VALUES (\(product.id), \(draft.sku), \(draft.name), \(draft.description),
        \(draft.name.lowercased()), \(draft.description.lowercased()), \(draft.category),
        \(draft.priceCents), \(draft.currency), \(draft.stock),
        \(Self.databaseTime(product.createTime)), \(Self.databaseTime(product.updateTime)),
        \(product.etag))
      """,
      logger: writer.logger
    )
    try await Self.recordChange(.created, of: product.id, at: product.updateTime, with: writer)
  }

  /// Replaces a product's client-writable fields, touches it and logs the update.
  static func overwrite(
    id: String,
    from current: ProductDraft,
    with draft: ProductDraft,
    using writer: ChangeWriter
  ) async throws {
    try await writer.connection.run(
      """
      UPDATE product SET sku = \(draft.sku), name = \(draft.name),
        description = \(draft.description), name_folded = \(draft.name.lowercased()),
        description_folded = \(draft.description.lowercased()), category = \(draft.category),
        price_cents = \(draft.priceCents), currency = \(draft.currency), stock = \(draft.stock)
      WHERE id = \(id)
      """,
      logger: writer.logger
    )
    let now = Self.now()
    try await Self.touch(writer, id: id, at: now)
    try await Self.recordChange(
      .updated,
      of: id,
      previousCategory: current.category != draft.category ? current.category : nil,
      at: now,
      with: writer
    )
  }

  public func update(_ update: ProductUpdate) async throws -> Product {
    try await self.write { writer in
      let current = try await Self.fetchProduct(
        writer.connection,
        id: update.id,
        logger: writer.logger
      )
      let draft = try update.apply(to: current)
      try await Self.overwrite(id: update.id, from: current.draft, with: draft, using: writer)
      return try await Self.fetchProduct(writer.connection, id: update.id, logger: writer.logger)
    }
  }

  public func delete(id: String, expectedETag: String?) async throws -> [String] {
    try await self.write { writer in
      let connection = writer.connection
      let logger = writer.logger
      let current = try await Self.fetchProduct(connection, id: id, logger: logger)
      try ProductUpdate.checkETag(expectedETag, of: current)
      let hashes = try await connection.rows(
        "SELECT DISTINCT sha256 FROM image WHERE product_id = \(id) ORDER BY sha256",
        logger: logger
      ).map { try $0["sha256"].decode(String.self) }
      try await Self.recordChange(.deleted, of: id, at: Self.now(), with: writer)
      // The room's row first: a message being said on any replica holds it to its commit,
      // and is then deleted below. Every replica closes the room.
      try await connection.run("DELETE FROM chat_room WHERE room = \(id)", logger: logger)
      try await connection.run("DELETE FROM chat_message WHERE room = \(id)", logger: logger)
      try await connection.run(
        "SELECT pg_notify(\(ChangeFollower.chatChannel), \("closed " + id))",
        logger: logger
      )
      try await connection.run("DELETE FROM product WHERE id = \(id)", logger: logger)
      let stillReferenced = Set(
        try await connection.rows(
          "SELECT DISTINCT sha256 FROM image WHERE sha256 = ANY(\(hashes))",
          logger: logger
        ).map { try $0["sha256"].decode(String.self) }
      )
      return hashes.filter { !stillReferenced.contains($0) }
    }
  }

  public func productCount() async throws -> Int {
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows("SELECT COUNT(*) AS count FROM product", logger: logger)
        .first?["count"].decode(Int.self) ?? 0
    }
  }
}
