/// What a user may do, from most to least trusted.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
  /// Everything, including managing users.
  case admin
  /// Writes the catalogue: products, imports, images.
  case staff
  /// Reads the catalogue and chats.
  case shopper
}

/// Who is making a call: a signed-in user as the store knows them now.
public struct Principal: Sendable, Hashable {
  /// The user's name, unique.
  public var username: String
  /// The user's role.
  public var role: Role

  public init(username: String, role: Role) {
    self.username = username
    self.role = role
  }
}
