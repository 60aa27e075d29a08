import Foundation

/// A fresh directory under the system's temporary directory; call ``remove()`` when done,
/// usually in a `defer`.
struct TemporaryDirectory {
  let url: URL

  init() throws {
    self.url = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-sqlite-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
  }

  /// Deletes the directory and everything in it.
  func remove() {
    try? FileManager.default.removeItem(at: self.url)
  }
}
