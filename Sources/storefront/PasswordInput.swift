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
  static func read(fromStandardInput: Bool, prompt: String) throws -> String {
    if fromStandardInput {
      guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
        throw CommandFailure("--password-stdin: standard input held no password")
      }
      return line
    }
    guard isatty(STDIN_FILENO) == 1, let entered = getpass(prompt) else {
      throw CommandFailure("no terminal to ask for the password on: use --password-stdin")
    }
    return String(cString: entered)
  }
}
