import ArgumentParser
import Foundation
import StorefrontPostgres

/// The PostgreSQL database a command uses, from `--database` (or `STOREFRONT_DATABASE`) and
/// its password, which never comes from the command line: `PGPASSWORD`, or the first line of
/// `--database-password-file`.
enum DatabaseOption {
  /// The database, or nil for SQLite in the data directory.
  /// - Throws: `ValidationError` for a URL that is not a database's, a password in the URL,
  ///   or a password file that cannot be read.
  static func resolve(
    url text: String?,
    passwordFile: String?,
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws -> PostgresDatabaseURL? {
    guard let text, !text.isEmpty else {
      guard passwordFile == nil else {
        throw ValidationError("--database-password-file needs --database")
      }
      return nil
    }
    var url: PostgresDatabaseURL
    do {
      url = try PostgresDatabaseURL(parsing: text)
    } catch {
      throw ValidationError("--database: \(error.message)")
    }
    if let passwordFile {
      guard let contents = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
        throw ValidationError("--database-password-file: cannot read \(passwordFile)")
      }
      url.password = contents.split(separator: "\n", omittingEmptySubsequences: false).first
        .map(String.init)
    } else {
      url.password = environment["PGPASSWORD"]
    }
    return url
  }
}
