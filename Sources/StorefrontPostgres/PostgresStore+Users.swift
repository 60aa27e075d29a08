import Foundation
import PostgresNIO
public import StorefrontCore

extension PostgresStore: UserStore {
  public func insert(_ user: User) async throws {
    let logger = self.logger
    try await self.writeUnlogged { connection in
      let inserted = try await connection.rows(
        """
        INSERT INTO storefront_user (username, role, password_hash, enabled, create_time)
        VALUES (\(user.username), \(user.role.rawValue), \(user.passwordHash.encoded),
          \(user.isEnabled), \(Self.databaseTime(user.createTime)))
        ON CONFLICT (username) DO NOTHING
        RETURNING username
        """,
        logger: logger
      )
      guard !inserted.isEmpty else {
        throw StorefrontError(
          code: .alreadyExists,
          message: "a user named '\(user.username)' already exists"
        )
      }
    }
  }

  public func user(named username: String) async throws -> User? {
    guard !Self.containsNUL(username) else { return nil }
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows(
        "SELECT * FROM storefront_user WHERE username = \(username)",
        logger: logger
      ).first.map(Self.user(from:))
    }
  }

  public func setEnabled(_ isEnabled: Bool, username: String) async throws {
    guard !Self.containsNUL(username) else { throw StorefrontError.notFound("user", id: username) }
    let logger = self.logger
    try await self.writeUnlogged { connection in
      let updated = try await connection.rows(
        """
        UPDATE storefront_user SET enabled = \(isEnabled) WHERE username = \(username)
        RETURNING username
        """,
        logger: logger
      )
      guard updated.count == 1 else { throw StorefrontError.notFound("user", id: username) }
    }
  }

  public func users() async throws -> [User] {
    let logger = self.logger
    return try await self.read { connection in
      try await connection.rows("SELECT * FROM storefront_user ORDER BY username", logger: logger)
        .map(Self.user(from:))
    }
  }

  private static func user(from row: PostgresRandomAccessRow) throws -> User {
    let username = try row["username"].decode(String.self)
    guard let role = Role(rawValue: try row["role"].decode(String.self)),
      let hash = PasswordHash(encoded: try row["password_hash"].decode(String.self))
    else {
      throw StorefrontError(code: .internalError, message: "user '\(username)' is unreadable")
    }
    return User(
      username: username,
      role: role,
      passwordHash: hash,
      isEnabled: try row["enabled"].decode(Bool.self),
      createTime: Self.date(fromDatabase: try row["create_time"].decode(Int64.self))
    )
  }
}
