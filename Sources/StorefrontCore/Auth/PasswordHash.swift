import Foundation

/// A stored password hash with everything needed to check a password against it: algorithm,
/// parameters, salt and derived key. Kept as text, `scrypt$<log2 N>$<r>$<p>$<salt>$<key>`
/// (base64), so that parameters can be raised later without invalidating older hashes.
public struct PasswordHash: Sendable, Hashable, CustomStringConvertible {
  /// scrypt's cost parameters.
  public struct Parameters: Sendable, Hashable {
    /// log2 of scrypt's N (CPU and memory cost).
    public var logN: Int
    /// scrypt's block size r.
    public var blockSize: Int
    /// scrypt's parallelism p.
    public var parallelism: Int

    public init(logN: Int, blockSize: Int, parallelism: Int) {
      self.logN = logN
      self.blockSize = blockSize
      self.parallelism = parallelism
    }

    /// N = 2^15, r = 8, p = 1: 32 MiB per hash, the cost Go's x/crypto/scrypt recommends for
    /// interactive logins. OWASP's current guidance asks for more (N = 2^17); since each hash
    /// keeps its parameters, new passwords can get more at any time.
    public static let standard = Self(logN: 15, blockSize: 8, parallelism: 1)
  }

  /// The cost parameters the key was derived with.
  public var parameters: Parameters
  public var salt: [UInt8]
  /// The derived key.
  public var key: [UInt8]

  public init(parameters: Parameters, salt: [UInt8], key: [UInt8]) {
    self.parameters = parameters
    self.salt = salt
    self.key = key
  }

  /// The text form, for the store.
  public var encoded: String {
    let p = self.parameters
    return [
      "scrypt", "\(p.logN)", "\(p.blockSize)", "\(p.parallelism)",
      Data(self.salt).base64EncodedString(), Data(self.key).base64EncodedString(),
    ].joined(separator: "$")
  }

  /// Parses the text form; nil when it is not one this version understands.
  public init?(encoded: String) {
    let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
    guard parts.count == 6, parts[0] == "scrypt",
      let logN = Int(parts[1]), (1 ... 30).contains(logN),
      let blockSize = Int(parts[2]), (1 ... 64).contains(blockSize),
      let parallelism = Int(parts[3]), (1 ... 64).contains(parallelism),
      let salt = Data(base64Encoded: String(parts[4])), !salt.isEmpty,
      let key = Data(base64Encoded: String(parts[5])), !key.isEmpty
    else { return nil }
    self.init(
      parameters: Parameters(logN: logN, blockSize: blockSize, parallelism: parallelism),
      salt: Array(salt),
      key: Array(key)
    )
  }

  /// Never shows the salt or key.
  public var description: String {
    "scrypt(N=2^\(self.parameters.logN), r=\(self.parameters.blockSize), "
      + "p=\(self.parameters.parallelism))"
  }
}
