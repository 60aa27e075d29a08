import GRDB

extension SQLiteStore {
  /// The schema, one migration per change; never edit a migration that has shipped.
  /// Times are whole microseconds since 1970.
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE product (
            id TEXT PRIMARY KEY NOT NULL,
            sku TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            category TEXT NOT NULL,
            price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
            currency TEXT NOT NULL,
            stock INTEGER NOT NULL CHECK (stock >= 0),
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL,
            etag TEXT NOT NULL
          );
          CREATE INDEX product_by_category ON product(category, id);

          CREATE TABLE image (
            id TEXT PRIMARY KEY NOT NULL,
            product_id TEXT NOT NULL REFERENCES product(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            position INTEGER NOT NULL
          );
          CREATE UNIQUE INDEX image_by_product ON image(product_id, position);
          CREATE INDEX image_by_sha256 ON image(sha256);

          CREATE TABLE chat_message (
            room TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            sender TEXT NOT NULL,
            text TEXT NOT NULL,
            kind INTEGER NOT NULL,
            sent_time INTEGER NOT NULL,
            PRIMARY KEY (room, sequence)
          ) WITHOUT ROWID;
          """
      )
    }
    return migrator
  }
}
