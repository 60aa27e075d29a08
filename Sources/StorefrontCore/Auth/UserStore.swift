/// Where users live.
public protocol UserStore: Sendable {
  /// Adds a user.
  /// - Throws: ``StorefrontError`` `alreadyExists` when the username is taken.
  func insert(_ user: User) async throws

  /// The user named `username`, or nil.
  func user(named username: String) async throws -> User?

  /// Enables or disables a user.
  /// - Throws: ``StorefrontError`` `notFound` for an unknown username.
  func setEnabled(_ isEnabled: Bool, username: String) async throws

  /// Every user, by username.
  func users() async throws -> [User]
}
