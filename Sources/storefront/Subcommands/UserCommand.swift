import ArgumentParser

/// `storefront user`: users in a data directory, managed without the server.
struct UserCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "user",
    abstract: "Manages users in a data directory (works while the server runs).",
    subcommands: [UserAddCommand.self, UserDisableCommand.self, UserListCommand.self]
  )
}
