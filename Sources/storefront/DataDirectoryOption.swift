import ArgumentParser
import Foundation
import StorefrontCore
import StorefrontSQLite

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
