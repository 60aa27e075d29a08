import ArgumentParser
import Foundation
import StorefrontCore

/// `storefront user list`: every user with their role and state.
struct UserListCommand: AsyncParsableCommand, PrintsJSON {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Lists the users."
  )

  @Flag(help: "Print JSON, one object per line.")
  var json = false

  /// Whether `--json` was given.
  var printsJSON: Bool { self.json }

  @OptionGroup var data: DataDirectoryOption

  /// Opens the store and does it.
  func run() async throws {
    for user in try await self.data.withStore({ try await $0.users() }) {
      let line: String
      if self.json {
        let object: [String: Any] = [
          "username": user.username, "role": user.role.rawValue, "enabled": user.isEnabled,
        ]
        line = String(
          decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
          as: UTF8.self
        )
      } else {
        line = "\(user.username)  \(user.role.rawValue)\(user.isEnabled ? "" : "  (disabled)")"
      }
      try writeToStandardOutput(line + "\n")
    }
  }
}
