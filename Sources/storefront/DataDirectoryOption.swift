import ArgumentParser
import Foundation
import Logging
import StorefrontCore
import StorefrontService

/// The data directory, or PostgreSQL database, a user command works on.
struct DataDirectoryOption: ParsableArguments {
  @Option(help: "Where the database lives (the server's --data-dir).")
  var dataDir = "storefront-data"

  @Option(
    help: """
      The server's PostgreSQL database, postgres://USER@HOST:PORT/DB (default: \
      STOREFRONT_DATABASE; unset: SQLite in --data-dir). Password from PGPASSWORD or \
      --database-password-file.
      """
  )
  var database: String?

  @Option(help: "A file whose first line is the database's password.")
  var databasePasswordFile: String?

  func validate() throws {
    _ = try self.location()
  }

  /// SQLite in the data directory, or the database given.
  private func location() throws -> StoreLocation {
    let url = try DatabaseOption.resolve(
      url: self.database ?? ProcessInfo.processInfo.environment["STOREFRONT_DATABASE"],
      passwordFile: self.databasePasswordFile
    )
    return url.map { .postgres($0) } ?? .sqlite
  }

  /// Runs `body` with the store (creating the directory and database if needed), closed
  /// afterwards; the store's refusals become the command's failure.
  func withStore<Result>(_ body: (any ServedStore) async throws -> Result) async throws -> Result {
    let directory = URL(fileURLWithPath: self.dataDir, isDirectory: true)
    let location = try self.location()
    if case .sqlite = location {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    do {
      let store = try await location.openStore(
        dataDirectory: directory,
        logger: Logger(label: "storefront.user")
      )
      defer { try? store.closeStore() }
      return try await body(store)
    } catch let error as StorefrontError {
      throw CommandFailure(error.message)
    }
  }
}
