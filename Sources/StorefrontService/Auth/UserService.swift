import Foundation
public import GRPCCore
public import StorefrontAPI
public import StorefrontCore
import SwiftProtobuf

/// `storefront.v1.UserService`: managing users. Admin only, as ``AuthInterceptor`` enforces.
public struct UserService: Sendable {
  private let users: any UserStore
  private let hasher: PasswordHasher

  /// - Parameters:
  ///   - users: where users live.
  ///   - hasher: hashes the passwords of users made with CreateUser.
  public init(users: any UserStore, hasher: PasswordHasher) {
    self.users = users
    self.hasher = hasher
  }
}

extension UserService: Storefront_V1_UserService.SimpleServiceProtocol {
  /// Adds a user. Errors: INVALID_ARGUMENT, ALREADY_EXISTS.
  public func createUser(
    request: Storefront_V1_CreateUserRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_UserResponse {
    try User.validateUsername(request.username)
    guard let role = Role(rawValue: request.role) else {
      throw StorefrontError.invalidArgument(field: "role", "must be admin, staff or shopper")
    }
    try User.validatePassword(request.password)
    // scrypt's quarter of a second of CPU runs on the global executor, not on the network
    // event loop the call may be served on.
    let hasher = self.hasher
    let password = request.password
    let hash = try await withTaskExecutorPreference(globalConcurrentExecutor) {
      try hasher.hash(password)
    }
    let user = User(username: request.username, role: role, passwordHash: hash)
    try await self.users.insert(user)
    return .with { $0.user = Storefront_V1_User(user) }
  }

  /// Lists every user.
  public func listUsers(
    request: Storefront_V1_ListUsersRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ListUsersResponse {
    let users = try await self.users.users()
    return .with { $0.users = users.map(Storefront_V1_User.init) }
  }

  /// Disables a user. Errors: INVALID_ARGUMENT, NOT_FOUND.
  public func disableUser(
    request: Storefront_V1_DisableUserRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_UserResponse {
    guard !request.username.isEmpty else {
      throw StorefrontError.invalidArgument(field: "username", "must not be empty")
    }
    try await self.users.setEnabled(false, username: request.username)
    guard let user = try await self.users.user(named: request.username) else {
      throw StorefrontError.notFound("user", id: request.username)
    }
    return .with { $0.user = Storefront_V1_User(user) }
  }
}

extension Storefront_V1_User {
  /// The API's view of a user: no password hash.
  init(_ user: User) {
    self = .with {
      $0.username = user.username
      $0.role = user.role.rawValue
      $0.enabled = user.isEnabled
      $0.createTime = Google_Protobuf_Timestamp(date: user.createTime)
    }
  }
}
