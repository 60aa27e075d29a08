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

  public func insert(contentsOf drafts: [ProductDraft]) async throws -> Int {
    try await self.write { writer in
      try await Self.write(
        drafts.map { ProductWrite(product: Self.newProduct($0), previous: nil) },
        with: writer
      )
      return drafts.count
    }
  }

  /// In a few statements whatever the batch's size: one read of the skus' products, then one
  /// insert, one update and one append to the change log for all. A batch that names a sku
  /// twice (a later draft sees the earlier one's write) goes one draft at a time.
  public func upsert(_ drafts: [ProductDraft]) async throws -> [UpsertOutcome] {
    guard Set(drafts.map(\.sku)).count == drafts.count else {
      return try await self.upsertOneByOne(drafts)
    }
    return try await self.write { writer in
      let skus = drafts.map(\.sku).filter { !Self.containsNUL($0) }
      let rows = try await writer.connection.rows(
        "SELECT \(unescaped: Self.productColumns) FROM product WHERE sku = ANY(\(skus))",
        logger: writer.logger
      )
      let existing = Dictionary(
        uniqueKeysWithValues: try rows.map { row in
          let product = try Self.product(from: row)
          return (product.draft.sku, product)
        }
      )
      let now = Self.now()
      var writes: [ProductWrite] = []
      var outcomes: [UpsertOutcome] = []
      for draft in drafts {
        guard var product = existing[draft.sku] else {
          writes.append(ProductWrite(product: Self.newProduct(draft), previous: nil))
          outcomes.append(.created)
          continue
        }
        guard product.draft != draft else {
          outcomes.append(.unchanged)
          continue
        }
        let previous = product.draft
        product.draft = draft
        product.updateTime = now
        product.etag = Identifier.makeETag()
        writes.append(ProductWrite(product: product, previous: previous))
        outcomes.append(.updated)
      }
      try await Self.write(writes, with: writer)
      return outcomes
    }
  }

  /// Upserts each draft in turn, in one transaction.
  private func upsertOneByOne(_ drafts: [ProductDraft]) async throws -> [UpsertOutcome] {
    try await self.write { writer in
      var outcomes: [UpsertOutcome] = []
      for draft in drafts {
        let existing = try await writer.connection.rows(
          "SELECT id FROM product WHERE sku = \(draft.sku)",
          logger: writer.logger
        ).first
        guard let id = try existing?["id"].decode(String.self) else {
          try await Self.insert(Self.newProduct(draft), with: writer)
          outcomes.append(.created)
          continue
        }
        let current = try await Self.fetchProduct(writer.connection, id: id, logger: writer.logger)
        guard current.draft != draft else {
          outcomes.append(.unchanged)
          continue
        }
        try await Self.overwrite(id: id, from: current.draft, with: draft, using: writer)
        outcomes.append(.updated)
      }
      return outcomes
    }
  }

  /// One product a batch writes: a new one (`previous` nil), or an existing one with new
  /// fields, etag and update time.
  private struct ProductWrite {
    var product: Product
    var previous: ProductDraft?
  }

  /// Writes a batch of distinct products in three statements, whatever its size: the new
  /// rows, the changed rows, and their changes in the log, in the batch's order.
  private static func write(_ writes: [ProductWrite], with writer: ChangeWriter) async throws {
    guard !writes.isEmpty else { return }
    let connection = writer.connection
    let logger = writer.logger
    let created = writes.filter { $0.previous == nil }.map(\.product)
    let changed = writes.filter { $0.previous != nil }.map(\.product)
    for (products, statement) in [
      (
        created,
        """
        INSERT INTO product (id, sku, name, description, name_folded, description_folded,
          category, price_cents, currency, stock, create_time, update_time, etag)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
          $6::text[], $7::text[], $8::bigint[], $9::text[], $10::integer[], $11::bigint[],
          $12::bigint[], $13::text[])
        """
      ),
      (
        changed,
        """
        UPDATE product SET sku = u.sku, name = u.name, description = u.description,
          name_folded = u.name_folded, description_folded = u.description_folded,
          category = u.category, price_cents = u.price_cents, currency = u.currency,
          stock = u.stock, update_time = u.update_time, etag = u.etag
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
          $7::text[], $8::bigint[], $9::text[], $10::integer[], $11::bigint[], $12::bigint[],
          $13::text[])
          AS u(id, sku, name, description, name_folded, description_folded, category,
            price_cents, currency, stock, create_time, update_time, etag)
        WHERE product.id = u.id
        """
      ),
    ] where !products.isEmpty {
      try await connection.run(
        PostgresQuery(unsafeSQL: statement, binds: Self.columnBinds(of: products)),
        logger: logger
      )
    }
    var binds = PostgresBindings()
    binds.append(writes.map { _ in writer.nextSequence() })
    binds.append(
      writes.map { ($0.previous == nil ? ProductChange.Kind.created : .updated).rawValue }
    )
    binds.append(writes.map { Self.databaseTime($0.product.updateTime) })
    binds.append(writes.map { $0.product.id })
    // The previous category when it changed, or "" (with false) for none: no NULLs in arrays.
    binds.append(
      writes.map { write in
        write.previous.map { $0.category != write.product.draft.category } ?? false
      }
    )
    binds.append(writes.map { $0.previous?.category ?? "" })
    try await connection.run(
      PostgresQuery(
        unsafeSQL: """
          INSERT INTO product_change (sequence, kind, change_time, previous_category, id, sku,
            name, description, category, price_cents, currency, stock, create_time,
            update_time, etag, image_ids)
          SELECT u.sequence, u.kind, u.change_time,
            CASE WHEN u.has_previous THEN u.previous_category END,
            \(Self.productColumns)
          FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::text[], $5::boolean[],
            $6::text[])
            AS u(sequence, kind, change_time, product_id, has_previous, previous_category)
          JOIN product ON product.id = u.product_id
          ORDER BY u.sequence
          """,
        binds: binds
      ),
      logger: logger
    )
  }

  /// The thirteen column arrays of `products`, in the order of the batch statements.
  private static func columnBinds(of products: [Product]) -> PostgresBindings {
    var binds = PostgresBindings()
    binds.append(products.map(\.id))
    binds.append(products.map(\.draft.sku))
    binds.append(products.map(\.draft.name))
    binds.append(products.map(\.draft.description))
    binds.append(products.map { $0.draft.name.lowercased() })
    binds.append(products.map { $0.draft.description.lowercased() })
    binds.append(products.map(\.draft.category))
    binds.append(products.map(\.draft.priceCents))
    binds.append(products.map(\.draft.currency))
    binds.append(products.map(\.draft.stock))
    binds.append(products.map { Self.databaseTime($0.createTime) })
    binds.append(products.map { Self.databaseTime($0.updateTime) })
    binds.append(products.map(\.etag))
    return binds
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
  private static func insert(_ product: Product, with writer: ChangeWriter) async throws {
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
  private static func overwrite(
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
