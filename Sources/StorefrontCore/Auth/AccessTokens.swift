public import Foundation
import JWTKit

/// Issues and checks signed, expiring access tokens: JWTs (jwt-kit) signed with HS256 under
/// one secret key, carrying the username (`sub`), the role, `iat`, `exp` and a random `jti`.
public struct AccessTokens: Sendable {
  /// A token and when it stops working.
  public struct Issued: Sendable {
    public var token: String
    public var expireTime: Date
    /// Whom the token speaks for.
    public var principal: Principal
  }

  /// The fewest bytes a signing key may have.
  public static let minKeyBytes = 32

  private let keys: JWTKeyCollection
  /// How long a new token works.
  public let lifetime: Duration
  private let now: @Sendable () -> Date

  /// - Parameters:
  ///   - key: the HMAC secret, at least ``minKeyBytes`` bytes.
  ///   - lifetime: how long a new token works.
  ///   - now: the clock tokens are issued and checked against.
  /// - Throws: ``StorefrontError`` `invalidArgument` when the key is too short.
  public init(
    key: [UInt8],
    lifetime: Duration = .seconds(3_600),
    now: @escaping @Sendable () -> Date = { Date() }
  ) async throws {
    guard key.count >= Self.minKeyBytes else {
      throw StorefrontError.invalidArgument(
        field: "token key",
        "must be at least \(Self.minKeyBytes) bytes"
      )
    }
    self.keys = await JWTKeyCollection().add(hmac: HMACKey(from: key), digestAlgorithm: .sha256)
    self.lifetime = lifetime
    self.now = now
  }

  /// A new token for `principal`.
  /// - Throws: when signing fails (a bug).
  public func issue(for principal: Principal) async throws -> Issued {
    let issued = self.now()
    let seconds = self.lifetime / .seconds(1)
    // JWT times are whole seconds; the expiry is rounded down so a token never outlives
    // its lifetime.
    let expires = Date(
      timeIntervalSince1970: (issued.timeIntervalSince1970 + seconds).rounded(.down)
    )
    let claims = Claims(
      sub: SubjectClaim(value: principal.username),
      role: principal.role.rawValue,
      iat: IssuedAtClaim(value: issued),
      exp: ExpirationClaim(value: expires),
      jti: IDClaim(value: Identifier.make(prefix: "tok"))
    )
    return Issued(
      token: try await self.keys.sign(claims),
      expireTime: expires,
      principal: principal
    )
  }

  /// The user a token speaks for, with the role it was issued with.
  /// - Throws: ``StorefrontError`` `unauthenticated` when the token is malformed, signed with
  ///   another key or algorithm, or expired.
  public func verify(_ token: String) async throws(StorefrontError) -> Principal {
    let claims: Claims
    do {
      claims = try await self.keys.verify(token, as: Claims.self)
    } catch {
      throw StorefrontError(code: .unauthenticated, message: "invalid access token")
    }
    guard self.now() < claims.exp.value else {
      throw StorefrontError(code: .unauthenticated, message: "the access token has expired")
    }
    guard let role = Role(rawValue: claims.role) else {
      throw StorefrontError(code: .unauthenticated, message: "invalid access token")
    }
    return Principal(username: claims.sub.value, role: role)
  }

  /// A token's claims. Expiry is checked by ``AccessTokens/verify(_:)`` against its own clock.
  struct Claims: JWTPayload {
    var sub: SubjectClaim
    var role: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}
  }
}
