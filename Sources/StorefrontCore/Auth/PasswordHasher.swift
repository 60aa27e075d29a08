import Crypto
import CryptoExtras

/// Hashes passwords with scrypt (swift-crypto's CryptoExtras, BoringSSL underneath) and
/// checks them in constant time.
public struct PasswordHasher: Sendable {
  /// The parameters new hashes get. Stored hashes keep their own.
  public var parameters: PasswordHash.Parameters

  /// Bytes of salt per hash.
  static let saltBytes = 16
  /// Bytes of derived key.
  static let keyBytes = 32

  public init(parameters: PasswordHash.Parameters = .standard) {
    self.parameters = parameters
  }

  /// A new hash of `password` with a fresh random salt.
  /// - Throws: when scrypt fails (parameters out of its range).
  public func hash(_ password: String) throws -> PasswordHash {
    var generator = SystemRandomNumberGenerator()
    let salt = (0 ..< Self.saltBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator)
    }
    let key = try Self.derive(password, salt: salt, parameters: self.parameters)
    return PasswordHash(parameters: self.parameters, salt: salt, key: key)
  }

  /// Whether `password` is the one `hash` was made from. Compares in constant time.
  public func verify(_ password: String, against hash: PasswordHash) -> Bool {
    guard
      let key = try? Self.derive(password, salt: hash.salt, parameters: hash.parameters),
      key.count == hash.key.count
    else { return false }
    return zip(key, hash.key).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
  }

  /// Spends the time a check of `password` would take against a real hash, for sign-ins with
  /// a username that does not exist: their answer then comes no faster than a wrong password's.
  public func verifyAgainstDummy(_ password: String) {
    _ = self.verify(password, against: self.dummy)
  }

  /// A hash of nothing anyone knows, with this hasher's parameters.
  private var dummy: PasswordHash {
    PasswordHash(
      parameters: self.parameters,
      salt: Array(repeating: 0x5a, count: Self.saltBytes),
      key: Array(repeating: 0, count: Self.keyBytes)
    )
  }

  private static func derive(
    _ password: String,
    salt: [UInt8],
    parameters: PasswordHash.Parameters
  ) throws -> [UInt8] {
    let key = try KDF.Scrypt.deriveKey(
      from: Array(password.utf8),
      salt: salt,
      outputByteCount: Self.keyBytes,
      rounds: 1 << parameters.logN,
      blockSize: parameters.blockSize,
      parallelism: parameters.parallelism
    )
    return key.withUnsafeBytes { Array($0) }
  }
}
