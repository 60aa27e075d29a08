import Foundation
public import GRPCCore
public import StorefrontAPI
public import StorefrontCore
import SwiftProtobuf

/// `storefront.v1.AuthService`: signing in.
public struct AuthService: Sendable {
  private let authenticator: Authenticator

  /// - Parameter authenticator: checks passwords and issues tokens.
  public init(authenticator: Authenticator) {
    self.authenticator = authenticator
  }
}

extension AuthService: Storefront_V1_AuthService.SimpleServiceProtocol {
  /// Signs in. Errors: INVALID_ARGUMENT (empty username or password), UNAUTHENTICATED,
  /// RESOURCE_EXHAUSTED (with RetryInfo) after repeated failures.
  public func login(
    request: Storefront_V1_LoginRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_LoginResponse {
    let violations = [
      request.username.isEmpty
        ? StorefrontError.FieldViolation(field: "username", description: "must not be empty")
        : nil,
      request.password.isEmpty
        ? StorefrontError.FieldViolation(field: "password", description: "must not be empty")
        : nil,
    ].compactMap { $0 }
    if let error = StorefrontError.invalidArguments(violations) { throw error }
    let issued = try await self.authenticator.signIn(
      username: request.username,
      password: request.password
    )
    return .with {
      $0.accessToken = issued.token
      $0.expireTime = Google_Protobuf_Timestamp(date: issued.expireTime)
      $0.role = issued.principal.role.rawValue
      $0.tokenType = "Bearer"
    }
  }
}
