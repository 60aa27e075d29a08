import Foundation
import Logging
import PostgresNIO
import StorefrontCore

extension PostgresStore {
  /// The schema, one migration per change; never edit a migration that has shipped. Times
  /// are whole microseconds since 1970, as on SQLite; text that is compared or ordered is in
  /// the "C" collation, so it compares byte for byte as SQLite does.
  static let migrations: [(version: Int, sql: String)] = [
    (
      1,
      """
      CREATE TABLE product (
        id TEXT COLLATE "C" PRIMARY KEY,
        sku TEXT COLLATE "C" NOT NULL CONSTRAINT product_sku_key UNIQUE,
        name TEXT COLLATE "C" NOT NULL,
        description TEXT COLLATE "C" NOT NULL,
        name_folded TEXT COLLATE "C" NOT NULL,
        description_folded TEXT COLLATE "C" NOT NULL,
        category TEXT COLLATE "C" NOT NULL,
        price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
        currency TEXT COLLATE "C" NOT NULL,
        stock INTEGER NOT NULL CHECK (stock >= 0),
        create_time BIGINT NOT NULL,
        update_time BIGINT NOT NULL,
        etag TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX product_by_category ON product (category, id);

      CREATE TABLE image (
        id TEXT COLLATE "C" PRIMARY KEY,
        product_id TEXT COLLATE "C" NOT NULL REFERENCES product (id) ON DELETE CASCADE,
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        sha256 TEXT COLLATE "C" NOT NULL,
        position INTEGER NOT NULL,
        UNIQUE (product_id, position)
      );
      CREATE INDEX image_by_sha256 ON image (sha256);

      CREATE TABLE chat_message (
        room TEXT COLLATE "C" NOT NULL,
        sequence BIGINT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        kind INTEGER NOT NULL,
        sent_time BIGINT NOT NULL,
        PRIMARY KEY (room, sequence)
      );

      CREATE TABLE product_change (
        sequence BIGINT PRIMARY KEY,
        kind INTEGER NOT NULL,
        change_time BIGINT NOT NULL,
        previous_category TEXT COLLATE "C",
        id TEXT COLLATE "C" NOT NULL,
        sku TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        description TEXT COLLATE "C" NOT NULL,
        category TEXT COLLATE "C" NOT NULL,
        price_cents BIGINT NOT NULL,
        currency TEXT COLLATE "C" NOT NULL,
        stock INTEGER NOT NULL,
        create_time BIGINT NOT NULL,
        update_time BIGINT NOT NULL,
        etag TEXT COLLATE "C" NOT NULL,
        image_ids TEXT[] NOT NULL
      );
      -- The one row every product writer locks first: the log's head and how far it is pruned.
      CREATE TABLE product_change_state (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        head BIGINT NOT NULL,
        pruned_through BIGINT NOT NULL
      );
      INSERT INTO product_change_state (singleton, head, pruned_through) VALUES (1, 0, 0);

      -- `password_hash` is PasswordHash's text form: algorithm, parameters, salt and key.
      CREATE TABLE storefront_user (
        username TEXT COLLATE "C" PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        create_time BIGINT NOT NULL
      );

      -- Image bytes by content hash, in chunks of at most PostgresImageContentStore's size.
      CREATE TABLE image_content (
        sha256 TEXT COLLATE "C" PRIMARY KEY,
        size_bytes BIGINT NOT NULL,
        placed_time BIGINT NOT NULL
      );
      CREATE TABLE image_chunk (
        sha256 TEXT COLLATE "C" NOT NULL REFERENCES image_content (sha256) ON DELETE CASCADE,
        offset_bytes BIGINT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (sha256, offset_bytes)
      );
      """
    ),
    (
      2,
      """
      -- Secrets every replica shares: the token signing key.
      CREATE TABLE storefront_secret (
        name TEXT COLLATE "C" PRIMARY KEY,
        value BYTEA NOT NULL
      );
      """
    ),
    (
      3,
      """
      -- Failed sign-ins by username, counted by every replica (PostgresLoginThrottle).
      CREATE TABLE login_failure (
        username TEXT COLLATE "C" PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure TIMESTAMPTZ NOT NULL,
        locked_until TIMESTAMPTZ
      );
      CREATE INDEX login_failure_by_time ON login_failure (last_failure);
      """
    ),
    (
      4,
      """
      -- Each chat room's last sequence: a message takes the next one by updating this row,
      -- whose lock it holds to its commit, so a room's messages commit in sequence order.
      CREATE TABLE chat_room (
        room TEXT COLLATE "C" PRIMARY KEY,
        last_sequence BIGINT NOT NULL
      );
      INSERT INTO chat_room (room, last_sequence)
      SELECT room, MAX(sequence) FROM chat_message GROUP BY room;
      """
    ),
  ]

  /// The advisory lock key that migrations run under: replicas starting together migrate
  /// once, the others wait and then find nothing to do.
  static let migrationLock: Int64 = 0x5354_4f52_4546_524e  // "STOREFRN"

  /// The statements of a migration: what ends with a `;` at the end of a line.
  static func statements(of sql: String) -> [String] {
    sql.components(separatedBy: ";\n")
      .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
      .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
      .filter { !$0.isEmpty }
  }

  /// Applies every migration the database has not seen, each in its own transaction, under
  /// the migration lock.
  static func migrate(_ client: PostgresClient, logger: Logger) async throws {
    try await Self.withConnection(client) { connection in
      try await connection.run("SELECT pg_advisory_lock(\(Self.migrationLock))", logger: logger)
      do {
        try await connection.run(
          """
          CREATE TABLE IF NOT EXISTS storefront_migration (
            version INTEGER PRIMARY KEY,
            applied_time BIGINT NOT NULL
          )
          """,
          logger: logger
        )
        let applied = Set(
          try await connection.rows("SELECT version FROM storefront_migration", logger: logger)
            .map { try $0["version"].decode(Int.self) }
        )
        for migration in Self.migrations where !applied.contains(migration.version) {
          try await connection.run("BEGIN", logger: logger)
          do {
            // One statement per query: the extended protocol takes no more.
            for statement in Self.statements(of: migration.sql) {
              try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.run(
              """
              INSERT INTO storefront_migration (version, applied_time)
              VALUES (\(migration.version), \(Self.databaseTime(Self.now())))
              """,
              logger: logger
            )
            try await connection.run("COMMIT", logger: logger)
          } catch {
            _ = try? await connection.run("ROLLBACK", logger: logger)
            throw error
          }
          logger.notice("migrated the database", metadata: ["version": "\(migration.version)"])
        }
      } catch {
        _ = try? await connection.run(
          "SELECT pg_advisory_unlock(\(Self.migrationLock))",
          logger: logger
        )
        throw error
      }
      try await connection.run("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
    }
  }
}
