import Foundation
import GRDB
public import StorefrontCore

extension SQLiteStore: UserStore {
  public func insert(_ user: User) async throws {
    try await self.write { db in
      let taken = try Bool.fetchOne(
        db,
        sql: "SELECT EXISTS (SELECT 1 FROM user WHERE username = ?)",
        arguments: [user.username]
      )
      guard taken != true else {
        throw StorefrontError(
          code: .alreadyExists,
          message: "a user named '\(user.username)' already exists"
        )
      }
      try db.execute(
        sql: """
          INSERT INTO user (username, role, password_hash, enabled, create_time)
          VALUES (?, ?, ?, ?, ?)
          """,
        arguments: [
          user.username, user.role.rawValue, user.passwordHash.encoded, user.isEnabled,
          Self.databaseTime(user.createTime),
        ]
      )
    }
  }

  public func user(named username: String) async throws -> User? {
    guard !Self.containsNUL(username) else { return nil }
    return try await self.read { db in
      try Row.fetchOne(
        db.cachedStatement(sql: "SELECT * FROM user WHERE username = ?"),
        arguments: [username]
      ).map(Self.user(from:))
    }
  }

  public func setEnabled(_ isEnabled: Bool, username: String) async throws {
    try await self.write { db in
      try db.execute(
        sql: "UPDATE user SET enabled = ? WHERE username = ?",
        arguments: [isEnabled, username]
      )
      guard db.changesCount == 1 else { throw StorefrontError.notFound("user", id: username) }
    }
  }

  public func users() async throws -> [User] {
    try await self.read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM user ORDER BY username").map(Self.user(from:))
    }
  }

  private static func user(from row: Row) throws -> User {
    let username: String = row["username"]
    guard let role = Role(rawValue: row["role"]),
      let hash = PasswordHash(encoded: row["password_hash"])
    else {
      throw StorefrontError(code: .internalError, message: "user '\(username)' is unreadable")
    }
    return User(
      username: username,
      role: role,
      passwordHash: hash,
      isEnabled: row["enabled"],
      createTime: Self.date(fromDatabase: row["create_time"])
    )
  }
}
