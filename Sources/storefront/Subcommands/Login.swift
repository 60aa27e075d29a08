import ArgumentParser
import Foundation
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront login NAME`: AuthService.Login, the token saved for later commands.
struct Login: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "login",
    abstract: "Signs in and saves the access token for later commands.",
    discussion: """
      The token is saved in $XDG_CONFIG_HOME/storefront/token (else ~/.config/storefront/token), \
      readable by you alone, and sent by every later command until it expires. --print-token \
      prints it instead, e.g. for STOREFRONT_TOKEN.
      """
  )

  @Argument(help: "Your username.")
  var username: String

  @Flag(help: "Read the password from the first line of standard input instead of a prompt.")
  var passwordStdin = false

  @Flag(help: "Print the token instead of saving it.")
  var printToken = false

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    let password = try PasswordInput.read(
      fromStandardInput: self.passwordStdin,
      prompt: "Password: "
    )
    let response = try await self.options.withClient(sendingToken: false) { client in
      try await client.signIn(username: self.username, password: password)
    }
    if self.printToken {
      try writeToStandardOutput(response.accessToken + "\n")
      return
    }
    try TokenFile.write(response.accessToken)
    let expiry = ISO8601DateFormatter().string(from: response.expireTime.date)
    try self.options.print(response) {
      "signed in as \(self.username) (\(response.role)) until \(expiry); token in \(TokenFile.url.path)"
    }
  }
}
