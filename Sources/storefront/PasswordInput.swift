import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a password without putting it in the command line: the first line of standard
/// input with `--password-stdin`, else a prompt on the terminal that does not echo.
enum PasswordInput {
  /// Asks once at the prompt (or reads standard input): a password to sign in with.
  /// - Throws: ``CommandFailure`` when standard input holds none or there is no terminal.
  static func read(fromStandardInput: Bool, prompt: String) throws -> String {
    if fromStandardInput { return try Self.readStandardInput() }
    return try Self.askTerminal(prompt)
  }

  /// A new password: read once from standard input, or asked twice at the prompt, with
  /// `check` run on the first answer so that a password it refuses is not typed twice.
  /// - Parameters:
  ///   - ask: shows a prompt and returns the answer; the terminal unless a test says.
  /// - Throws: ``CommandFailure`` when the two answers differ, or what `check` throws.
  static func readNew(
    fromStandardInput: Bool,
    prompt: String,
    check: (String) throws -> Void,
    ask: (String) throws -> String = Self.askTerminal
  ) throws -> String {
    if fromStandardInput {
      let password = try Self.readStandardInput()
      try check(password)
      return password
    }
    let password = try ask(prompt)
    try check(password)
    guard try ask("Again, to confirm: ") == password else {
      throw CommandFailure("the two passwords differ; nothing was changed")
    }
    return password
  }

  private static func readStandardInput() throws -> String {
    guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
      throw CommandFailure("--password-stdin: standard input held no password")
    }
    return line
  }

  /// Shows `prompt` on the terminal and reads an answer without echoing it.
  /// - Throws: ``CommandFailure`` when standard input is not a terminal.
  static func askTerminal(_ prompt: String) throws -> String {
    guard isatty(STDIN_FILENO) == 1, let entered = getpass(prompt) else {
      throw CommandFailure("no terminal to ask for the password on: use --password-stdin")
    }
    return String(cString: entered)
  }
}
