import Foundation
import StorefrontCore
import Testing

extension StoreContract {
  static func user(_ name: String, role: Role = .staff) throws -> User {
    User(
      username: name,
      role: role,
      passwordHash: PasswordHash(parameters: .standard, salt: [1, 2, 3], key: [4, 5, 6]),
      createTime: Date(timeIntervalSince1970: 1_700_000_000)
    )
  }

  static let users = Case("users: insert, look up, list by name; a taken name is ALREADY_EXISTS") {
    factory in
    try await factory.withStore { store in
      #expect(try await store.users().isEmpty)
      #expect(try await store.user(named: "bob") == nil)
      try await store.insert(try Self.user("bob"))
      try await store.insert(try Self.user("alice", role: .admin))
      #expect(try await store.user(named: "bob") == (try Self.user("bob")))
      #expect(try await store.users().map(\.username) == ["alice", "bob"])
      let error = await #expect(throws: StorefrontError.self) {
        try await store.insert(try Self.user("bob", role: .shopper))
      }
      #expect(error?.code == .alreadyExists)
      #expect(try await store.user(named: "bob")?.role == .staff)
      #expect(try await store.user(named: "bo\u{0}b") == nil)
    }
  }

  static let enabling = Case("users: disabling and enabling; an unknown name is NOT_FOUND") {
    factory in
    try await factory.withStore { store in
      try await store.insert(try Self.user("bob"))
      try await store.setEnabled(false, username: "bob")
      #expect(try await store.user(named: "bob")?.isEnabled == false)
      try await store.setEnabled(true, username: "bob")
      #expect(try await store.user(named: "bob")?.isEnabled == true)
      let error = await #expect(throws: StorefrontError.self) {
        try await store.setEnabled(false, username: "nobody")
      }
      #expect(error?.code == .notFound)
    }
  }
}
