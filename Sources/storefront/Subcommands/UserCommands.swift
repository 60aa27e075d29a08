import ArgumentParser
import Foundation
import StorefrontCore
import StorefrontSQLite

struct UserCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "user",
    abstract: "Manages users in a data directory (works while the server runs).",
    subcommands: [UserAdd.self, UserDisable.self, UserList.self]
  )
}

/// The data directory a user command works on.
struct DataDirectoryOption: ParsableArguments {
  @Option(help: "Where the database lives (the server's --data-dir).")
  var dataDir = "storefront-data"

  /// Runs `body` with the store (creating the directory and database if needed), closed
  /// afterwards; the store's refusals become the command's failure.
  func withStore<Result>(_ body: (SQLiteStore) async throws -> Result) async throws -> Result {
    let directory = URL(fileURLWithPath: self.dataDir, isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let store = try SQLiteStore(path: directory.appendingPathComponent(SQLiteStore.fileName).path)
    defer { try? store.close() }
    do {
      return try await body(store)
    } catch let error as StorefrontError {
      throw CommandFailure(error.message)
    }
  }
}

struct UserAdd: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Adds a user; asks for the password (or reads it with --password-stdin)."
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

  func run() async throws {
    let password = try PasswordInput.read(
      fromStandardInput: self.passwordStdin,
      prompt: "Password for \(self.username): "
    )
    do {
      try User.validatePassword(password)
    } catch {
      throw CommandFailure(error.message)
    }
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
}

struct UserDisable: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "disable",
    abstract: "Disables a user: no more sign-ins; a running server refuses their tokens within 5 s."
  )

  @Argument(help: "The username.")
  var username: String

  @OptionGroup var data: DataDirectoryOption

  func run() async throws {
    try await self.data.withStore { try await $0.setEnabled(false, username: self.username) }
    try writeToStandardOutput("disabled \(self.username)\n")
  }
}

struct UserList: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Lists the users."
  )

  @Flag(help: "Print JSON, one object per line.")
  var json = false

  @OptionGroup var data: DataDirectoryOption

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
