import ArgumentParser
import Foundation
import StorefrontCore

/// `storefront user disable NAME`: no more sign-ins, and the user's tokens stop working.
struct UserDisableCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "disable",
    abstract: "Disables a user: no more sign-ins; a running server refuses their tokens within 5 s."
  )

  @Argument(help: "The username.")
  var username: String

  @OptionGroup var data: DataDirectoryOption

  /// Opens the store and does it.
  func run() async throws {
    try await self.data.withStore { try await $0.setEnabled(false, username: self.username) }
    try writeToStandardOutput("disabled \(self.username)\n")
  }
}
