public import Foundation

/// A user of the service, as the store keeps them.
public struct User: Sendable, Hashable {
  /// Unique, 1-64 characters of `[a-z0-9._-]` (see ``User/validateUsername(_:)``).
  public var username: String
  public var role: Role
  /// The salted, slow hash of the password, with its algorithm and parameters.
  public var passwordHash: PasswordHash
  /// A disabled user cannot sign in, and their tokens stop working.
  public var isEnabled: Bool
  public var createTime: Date

  public init(
    username: String,
    role: Role,
    passwordHash: PasswordHash,
    isEnabled: Bool = true,
    createTime: Date = Date()
  ) {
    self.username = username
    self.role = role
    self.passwordHash = passwordHash
    self.isEnabled = isEnabled
    self.createTime = createTime
  }

  /// The longest username.
  public static let maxUsernameLength = 64
  /// The shortest password, in characters.
  public static let minPasswordLength = 8
  /// The longest password, in bytes (UTF-8).
  public static let maxPasswordBytes = 1_024

  /// Checks a new username: 1-64 characters of lower-case letters, digits, `.`, `_` and `-`,
  /// so that two names never differ only in case or in look-alike characters.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming `field`.
  public static func validateUsername(
    _ username: String,
    field: String = "username"
  ) throws(StorefrontError) {
    let allowed = username.utf8.allSatisfy { byte in
      (UInt8(ascii: "a") ... UInt8(ascii: "z")).contains(byte)
        || (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte)
        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
    guard !username.isEmpty, username.utf8.count <= Self.maxUsernameLength, allowed else {
      throw StorefrontError.invalidArgument(
        field: field,
        "must be 1-\(Self.maxUsernameLength) characters of a-z, 0-9, '.', '_' and '-'"
      )
    }
  }

  /// Checks a new password: at least 8 characters, at most 1,024 bytes.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming `field`.
  public static func validatePassword(
    _ password: String,
    field: String = "password"
  ) throws(StorefrontError) {
    guard password.count >= Self.minPasswordLength,
      password.utf8.count <= Self.maxPasswordBytes
    else {
      throw StorefrontError.invalidArgument(
        field: field,
        "must be at least \(Self.minPasswordLength) characters and at most "
          + "\(Self.maxPasswordBytes) bytes"
      )
    }
  }
}
