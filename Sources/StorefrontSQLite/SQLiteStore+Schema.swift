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
    migrator.registerMigration("v2-change-log") { db in
      // One row per committed product write, with the product as the write left it (the
      // same columns as a product row, image ids folded as `position:id,...`).
      try db.execute(
        sql: """
          CREATE TABLE product_change (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            kind INTEGER NOT NULL,
            change_time INTEGER NOT NULL,
            previous_category TEXT,
            id TEXT NOT NULL,
            sku TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            category TEXT NOT NULL,
            price_cents INTEGER NOT NULL,
            currency TEXT NOT NULL,
            stock INTEGER NOT NULL,
            create_time INTEGER NOT NULL,
            update_time INTEGER NOT NULL,
            etag TEXT NOT NULL,
            image_ids TEXT
          );
          CREATE TABLE product_change_state (
            singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
            pruned_through INTEGER NOT NULL
          );
          INSERT INTO product_change_state (singleton, pruned_through) VALUES (1, 0);
          """
      )
    }
    migrator.registerMigration("v3-users") { db in
      // `password_hash` is PasswordHash's text form: algorithm, parameters, salt and key.
      try db.execute(
        sql: """
          CREATE TABLE user (
            username TEXT PRIMARY KEY NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            create_time INTEGER NOT NULL
          ) WITHOUT ROWID;
          """
      )
    }
    return migrator
  }
}
