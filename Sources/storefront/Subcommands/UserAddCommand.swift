import ArgumentParser
import Foundation
import StorefrontCore

/// `storefront user add NAME --role ROLE`: a user in the data directory's database.
struct UserAddCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Adds a user; asks for the password twice (or reads it with --password-stdin)."
  )

  @Argument(help: "The username: 1-64 characters of a-z, 0-9, '.', '_' and '-'.")
  var username: String

  @Option(help: "admin, staff or shopper.")
  var role: String

  @Flag(help: "Read the password from the first line of standard input instead of a prompt.")
  var passwordStdin = false

  @Option(
    help: """
      log2 of scrypt's N for this password's hash (10-20). The default, 15, costs 32 MiB per \
      sign-in; each step up doubles memory and time. Lower only for tests.
      """
  )
  var hashCost = PasswordHash.Parameters.standard.logN

  @OptionGroup var data: DataDirectoryOption

  /// Refuses a bad username, role or hash cost before asking for the password.
  func validate() throws {
    do {
      try User.validateUsername(self.username)
    } catch {
      throw ValidationError(error.message)
    }
    guard Role(rawValue: self.role) != nil else {
      throw ValidationError("--role must be admin, staff or shopper")
    }
    guard (10 ... 20).contains(self.hashCost) else {
      throw ValidationError("--hash-cost must be 10-20")
    }
  }

  /// Asks for the password, hashes it, and adds the user.
  func run() async throws {
    let password = try PasswordInput.readNew(
      fromStandardInput: self.passwordStdin,
      prompt: "Password for \(self.username): ",
      check: Self.checkPassword
    )
    var parameters = PasswordHash.Parameters.standard
    parameters.logN = self.hashCost
    let user = User(
      username: self.username,
      role: Role(rawValue: self.role) ?? .shopper,
      passwordHash: try PasswordHasher(parameters: parameters).hash(password)
    )
    try await self.data.withStore { try await $0.insert(user) }
    try writeToStandardOutput("added \(user.username) (\(user.role.rawValue))\n")
  }

  /// Refuses a password the server's rules refuse (too short).
  private static func checkPassword(_ password: String) throws {
    do {
      try User.validatePassword(password)
    } catch {
      throw CommandFailure(error.message)
    }
  }
}
