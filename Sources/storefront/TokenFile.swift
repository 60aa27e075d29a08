import Foundation
import StorefrontService

/// Where `storefront login` keeps the access token for later commands:
/// `$XDG_CONFIG_HOME/storefront/token`, else `~/.config/storefront/token`, mode 0600.
enum TokenFile {
  /// The file's location.
  static var url: URL {
    let environment = ProcessInfo.processInfo.environment
    let base =
      environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
      ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config")
    return base.appendingPathComponent("storefront", isDirectory: true)
      .appendingPathComponent("token")
  }

  /// The saved token; nil when there is none.
  static func read() throws -> String? {
    guard let data = FileManager.default.contents(atPath: Self.url.path) else { return nil }
    let token = String(decoding: data, as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return token.isEmpty ? nil : token
  }

  /// Saves `token`, readable by the user alone (the folder 0700, the file 0600).
  static func write(_ token: String) throws {
    let url = Self.url
    let manager = FileManager.default
    try manager.createDirectory(
      at: url.deletingLastPathComponent(),
      withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700]
    )
    // A new file is created with mode 0600 before it holds the token; an old one is
    // replaced the same way.
    try? manager.removeItem(at: url)
    guard try PrivateFile.create(at: url.path, contents: Array((token + "\n").utf8)) else {
      throw CommandFailure("could not write \(url.path): it appeared meanwhile")
    }
  }
}
