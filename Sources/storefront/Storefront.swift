import ArgumentParser
import Foundation
import GRPCCore
import StorefrontService

/// The one executable: the server (`serve`), the client subcommands and the bench.
@main
struct Storefront: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "storefront",
    abstract: "A product catalogue served over gRPC, and a client for it.",
    subcommands: [
      Serve.self, Login.self, UserCommand.self, ProductCommand.self, ImageCommand.self,
      ChatCommand.self, Bench.self,
    ]
  )

  /// Parses the command line (`serve` also reads its settings from the environment and a
  /// config file), runs the command, and reports how it failed: as JSON for a command given
  /// `--json`, and a usage error with the usage of the command that was run.
  static func main() async {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "serve" {
      do {
        arguments =
          ["serve"]
          + (try SettingSources.arguments(
            settings: Serve.settings.map(\.source),
            commandLine: Array(arguments.dropFirst()),
            environment: ProcessInfo.processInfo.environment
          ))
      } catch {
        Self.exit(withError: error)
      }
    }
    let command: any ParsableCommand
    do {
      command = try await Self.asyncParseAsRoot(arguments)
    } catch {
      Self.exit(withError: error)
    }
    do {
      if var command = command as? any AsyncParsableCommand {
        try await command.run()
      } else {
        var command = command
        try command.run()
      }
    } catch {
      Self.exit(reporting: error, of: command)
    }
  }

  /// Ends the process after `command` failed with `error`, saying why on standard error.
  static func exit(reporting error: any Error, of command: any ParsableCommand) -> Never {
    let json = (command as? any PrintsJSON)?.printsJSON ?? false
    switch error {
    // An exit asked for, or help: ArgumentParser's own `help` command answers a help
    // request by throwing it from its `run`.
    case _ where error is ExitCode || error is CleanExit || Self.exitCode(for: error) == .success:
      Self.exit(withError: error)
    case let error as ValidationError where !json:
      // ArgumentParser would show the top command's usage for an error thrown by `run`.
      Self.writeToStandardError(Self.usageMessage(error.message, command: type(of: command)))
      Self.exit(withError: ExitCode.validationFailure)
    case is RPCError, is CallFailure, is CommandFailure,
      _ where json:
      let report = ErrorReport(error)
      Self.writeToStandardError(json ? report.json + "\n" : "Error: \(report.text)\n")
      Self.exit(withError: ExitCode.failure)
    default:
      Self.exit(withError: error)
    }
  }

  /// An error message with the usage of `command`, as ArgumentParser writes one.
  static func usageMessage(_ message: String, command: any ParsableCommand.Type) -> String {
    let usage = Self.usageString(for: command)
    let path = Self.commandPath(to: command).joined(separator: " ")
    return "Error: \(message)\nUsage: \(usage)\n  See '\(path) --help' for more information.\n"
  }

  /// The names from the root down to `command`: `storefront product update`.
  static func commandPath(to command: any ParsableCommand.Type) -> [String] {
    func search(_ node: any ParsableCommand.Type, _ path: [String]) -> [String]? {
      let path = path + [node.configuration.commandName ?? String(describing: node).lowercased()]
      if ObjectIdentifier(node) == ObjectIdentifier(command) { return path }
      for child in node.configuration.subcommands {
        if let found = search(child, path) { return found }
      }
      return nil
    }
    return search(Self.self, []) ?? ["storefront"]
  }

  private static func writeToStandardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }
}
