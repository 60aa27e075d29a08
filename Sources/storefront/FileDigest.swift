import ArgumentParser
import Crypto
import Foundation

/// The SHA-256 and size of a file, read a megabyte at a time.
struct FileDigest {
  let sha256: String
  let size: Int64

  init(path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CommandFailure("\(path): cannot be read")
    }
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
