import Foundation
import PostgresNIO
public import StorefrontCore

/// Writes of many products at once: imports (``upsert(_:)``) and the demo catalogue
/// (``insert(contentsOf:)``), in a few statements whatever the batch's size.
extension PostgresStore {
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
}
