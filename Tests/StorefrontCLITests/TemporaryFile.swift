import Foundation

/// A file with the given contents in a folder of its own, removed when `body` returns.
func withTemporaryFile<Result>(
  named name: String = "products.csv",
  contents: String,
  _ body: (String) throws -> Result
) throws -> Result {
  let folder = FileManager.default.temporaryDirectory
    .appendingPathComponent("storefront-cli-tests-\(UUID().uuidString)", isDirectory: true)
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  let path = folder.appendingPathComponent(name).path
  try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
  return try body(path)
}
