public import Foundation

/// A fresh directory under the system's temporary directory; call ``remove()`` when done,
/// usually in a `defer`.
public struct TemporaryDirectory: Sendable {
  /// The directory.
  public let url: URL

  public init() throws {
    self.url = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
  }

  /// Deletes the directory and everything in it.
  public func remove() {
    try? FileManager.default.removeItem(at: self.url)
  }
}
