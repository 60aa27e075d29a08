public import Foundation
public import StorefrontCore

/// How the server signs users in and checks their tokens; every field has a default.
public struct AuthSettings: Sendable {
  /// The HMAC key that signs tokens; `token.key` in the data directory when nil. Created with
  /// 64 random bytes, mode 0600, when the file does not exist.
  public var tokenKeyFile: URL?
  /// How long a token works.
  public var tokenLifetime: Duration
  /// Whether reading the catalogue needs a signed-in user.
  public var requireAuthForReads: Bool
  /// When failed sign-ins are slowed down.
  public var throttle: LoginThrottle.Configuration
  /// How long a user's state is cached for token checks: the longest a disabled user's
  /// tokens keep working.
  public var userCacheTime: Duration
  /// scrypt's parameters for passwords set through the API (and the cost of checking an
  /// unknown username).
  public var passwordHashing: PasswordHash.Parameters

  public init(
    tokenKeyFile: URL? = nil,
    tokenLifetime: Duration = .seconds(3_600),
    requireAuthForReads: Bool = false,
    throttle: LoginThrottle.Configuration = LoginThrottle.Configuration(),
    userCacheTime: Duration = .seconds(5),
    passwordHashing: PasswordHash.Parameters = .standard
  ) {
    self.tokenKeyFile = tokenKeyFile
    self.tokenLifetime = tokenLifetime
    self.requireAuthForReads = requireAuthForReads
    self.throttle = throttle
    self.userCacheTime = userCacheTime
    self.passwordHashing = passwordHashing
  }
}

/// The files of a TLS server: its certificate chain and key, and for mutual TLS the CA that
/// client certificates must chain to. All PEM.
public struct TLSSettings: Sendable {
  public var certificateChainFile: String
  public var privateKeyFile: String
  /// When set, every client must present a certificate signed by this CA (mTLS).
  public var clientCAFile: String?

  public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
    self.certificateChainFile = certificateChainFile
    self.privateKeyFile = privateKeyFile
    self.clientCAFile = clientCAFile
  }
}

/// The token-signing key on disk.
enum TokenKeyFile {
  /// Bytes of a generated key.
  static let generatedBytes = 64

  /// A new random key of ``generatedBytes``.
  @Sendable static func generate() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0 ..< Self.generatedBytes).map { _ in
      UInt8.random(in: .min ... .max, using: &generator)
    }
  }

  /// Reads the key at `url`, or creates it (random bytes, mode 0600) when it does not exist.
  /// - Returns: the key, and whether it was created now.
  /// - Throws: when the file cannot be read or written, or holds fewer than 32 bytes.
  static func loadOrCreate(at url: URL) throws -> (key: [UInt8], created: Bool) {
    let manager = FileManager.default
    if !manager.fileExists(atPath: url.path) {
      let key = Self.generate()
      // Created with its final mode, so the key is never readable by others, even briefly;
      // O_EXCL: a file that appeared meanwhile is not overwritten.
      guard try PrivateFile.create(at: url.path, contents: key) else {
        return try Self.loadOrCreate(at: url)
      }
      return (key, true)
    }
    let key = Array(try Data(contentsOf: url))
    guard key.count >= AccessTokens.minKeyBytes else {
      throw StorefrontError(
        code: .invalidArgument,
        message: "the token key file \(url.path) must hold at least "
          + "\(AccessTokens.minKeyBytes) bytes"
      )
    }
    return (key, false)
  }
}

/// Writes files only their owner may read.
public enum PrivateFile {
  /// Creates `path` with mode 0600 and writes `contents`, atomically as far as other users
  /// can tell: the file never exists with a wider mode.
  /// - Returns: false when the file already exists (it is left alone).
  /// - Throws: when the file cannot be created or written.
  public static func create(at path: String, contents: [UInt8]) throws -> Bool {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    if descriptor < 0 {
      if errno == EEXIST { return false }
      throw StorefrontError(
        code: .unavailable,
        message: "cannot create \(path): \(String(cString: strerror(errno)))"
      )
    }
    defer { close(descriptor) }
    var written = 0
    while written < contents.count {
      let result = contents[written...].withUnsafeBytes {
        write(descriptor, $0.baseAddress, $0.count)
      }
      guard result > 0 else {
        throw StorefrontError(
          code: .unavailable,
          message: "cannot write \(path): \(String(cString: strerror(errno)))"
        )
      }
      written += result
    }
    guard fsync(descriptor) == 0 else {
      throw StorefrontError(code: .unavailable, message: "cannot sync \(path)")
    }
    return true
  }
}
