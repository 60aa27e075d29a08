import Foundation
import StorefrontTestKit

/// A file with the given contents in a folder of its own, removed when `body` returns.
func withTemporaryFile<Result>(
  named name: String = "products.csv",
  contents: String,
  _ body: (String) throws -> Result
) throws -> Result {
  let folder = try TemporaryDirectory()
  defer { folder.remove() }
  let path = folder.url.appendingPathComponent(name).path
  try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
  return try body(path)
}
