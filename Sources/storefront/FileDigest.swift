import Crypto
import Foundation

/// The SHA-256 and size of a file, read a megabyte at a time.
struct FileDigest {
  /// The hash in lower-case hex.
  let sha256: String
  /// The size in bytes.
  let size: Int64

  /// Reads the file at `path` once.
  /// - Throws: ``CommandFailure`` when it does not exist or cannot be read.
  init(path: String) throws {
    let handle = try InputFile.open(path)
    defer { try? handle.close() }
    var hasher = SHA256()
    var size: Int64 = 0
    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
      hasher.update(data: data)
      size += Int64(data.count)
    }
    self.size = size
    self.sha256 = hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }
}
