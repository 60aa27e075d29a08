public import StorefrontAPI
import SwiftProtobuf

extension StorefrontClient {
  /// Signs in; every later call of this client sends the token it gets.
  /// - Returns: the token, its expiry and the user's role.
  @discardableResult
  public func signIn(
    username: String,
    password: String
  ) async throws
    -> Storefront_V1_LoginResponse
  {
    let response = try await self.call {
      try await self.auth.login(
        .with {
          $0.username = username
          $0.password = password
        },
        options: self.unaryOptions
      )
    }
    self.token = response.accessToken
    return response
  }

  /// Forgets the token: later calls are anonymous.
  public func signOut() {
    self.token = nil
  }
}
