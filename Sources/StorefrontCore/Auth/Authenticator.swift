import Synchronization

/// Signs users in and tells who a token speaks for: the rules of authentication, over a
/// ``UserStore``, a ``PasswordHasher``, a ``LoginThrottle`` and ``AccessTokens``.
///
/// A token is checked against the store as well as its signature: a disabled user's tokens
/// stop working within ``Configuration/userCacheTime`` (the time a user's state is cached),
/// and a token acts with the user's current role.
public final class Authenticator: Sendable {
  /// How long users are cached and how hashing is bounded.
  public struct Configuration: Sendable {
    /// How long a user looked up for a token is reused before the store is asked again.
    public var userCacheTime: Duration
    /// The most users cached at once.
    public var userCacheCapacity: Int

    public init(userCacheTime: Duration = .seconds(5), userCacheCapacity: Int = 10_000) {
      self.userCacheTime = userCacheTime
      self.userCacheCapacity = userCacheCapacity
    }
  }

  private struct CachedUser {
    var user: User?
    var fetched: ContinuousClock.Instant
  }

  private let users: any UserStore
  private let hasher: PasswordHasher
  /// Failed sign-ins by username.
  public let throttle: any LoginThrottling
  /// Issues and checks tokens.
  public let tokens: AccessTokens
  private let configuration: Configuration
  /// One password check at a time: each takes tens of megabytes and a noticeable slice of a
  /// second of CPU, so a flood of sign-ins queues instead of exhausting the machine.
  private let hashing = SerialGate()
  private let cache = Mutex<[String: CachedUser]>([:])

  public init(
    users: any UserStore,
    tokens: AccessTokens,
    hasher: PasswordHasher = PasswordHasher(),
    throttle: any LoginThrottling = LoginThrottle(),
    configuration: Configuration = Configuration()
  ) {
    self.users = users
    self.tokens = tokens
    self.hasher = hasher
    self.throttle = throttle
    self.configuration = configuration
  }

  /// Checks a username and password and issues a token.
  /// - Throws: ``StorefrontError`` `unauthenticated` for a wrong username or password or a
  ///   disabled user, without saying which; `resourceExhausted` with a ``StorefrontError/retryDelay``
  ///   while the username is locked out after repeated failures.
  public func signIn(username: String, password: String) async throws -> AccessTokens.Issued {
    if let wait = try await self.throttle.waitBeforeAttempt(by: username) {
      throw Self.lockedOut(wait)
    }
    let user = try await self.users.user(named: username)
    let hasher = self.hasher
    let valid = try await self.hashing.run { () -> Bool in
      // A quarter of a second of CPU: on the global executor, never on a network event loop
      // that the calling task may prefer (Storefront's transport runs calls on theirs).
      await withTaskExecutorPreference(globalConcurrentExecutor) {
        guard let user, password.utf8.count <= User.maxPasswordBytes else {
          // The same work as a real check, so an unknown name answers no faster.
          hasher.verifyAgainstDummy(password)
          return false
        }
        return hasher.verify(password, against: user.passwordHash)
      }
    }
    guard valid, let user, user.isEnabled else {
      if let lockout = try await self.throttle.countFailure(of: username) {
        throw Self.lockedOut(lockout)
      }
      throw StorefrontError(code: .unauthenticated, message: "wrong username or password")
    }
    try await self.throttle.clearFailures(of: username)
    return try await self.tokens.issue(for: Principal(username: user.username, role: user.role))
  }

  /// The user `token` speaks for, with their current role.
  /// - Throws: ``StorefrontError`` `unauthenticated` when the token is invalid or expired, or
  ///   its user is gone or disabled.
  public func principal(forToken token: String) async throws -> Principal {
    let claimed = try await self.tokens.verify(token)
    guard let user = try await self.cachedUser(named: claimed.username), user.isEnabled else {
      throw StorefrontError(code: .unauthenticated, message: "the user is disabled or unknown")
    }
    return Principal(username: user.username, role: user.role)
  }

  private func cachedUser(named username: String) async throws -> User? {
    let now = ContinuousClock.now
    let cacheTime = self.configuration.userCacheTime
    let hit = self.cache.withLock { cache -> CachedUser? in
      guard let entry = cache[username], now - entry.fetched < cacheTime else { return nil }
      return entry
    }
    if let hit { return hit.user }
    let user = try await self.users.user(named: username)
    let capacity = self.configuration.userCacheCapacity
    self.cache.withLock { cache in
      if cache[username] == nil, cache.count >= capacity {
        cache = cache.filter { now - $0.value.fetched < cacheTime }
        if cache.count >= capacity { cache.removeAll() }
      }
      cache[username] = CachedUser(user: user, fetched: now)
    }
    return user
  }

  private static func lockedOut(_ wait: Duration) -> StorefrontError {
    StorefrontError(
      code: .resourceExhausted,
      message: "too many failed sign-ins for this username; try again later",
      retryDelay: wait
    )
  }
}
