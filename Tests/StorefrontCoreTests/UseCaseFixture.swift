import Foundation
import StorefrontCore
import StorefrontTestKit

/// A store, image files and a chat hub in a temporary directory: what the use cases run on
/// in these tests, with no network.
struct UseCaseFixture {
  let store: any StorefrontStore
  let blobs: ImageBlobStore
  let chat: ChatHub

  var catalogue: Catalogue {
    Catalogue(
      products: self.store,
      blobs: self.blobs,
      chat: self.chat,
      configuration: Catalogue.Configuration(listBatchSize: 3)
    )
  }

  /// Runs `body` with a fresh fixture, deleted afterwards.
  static func run(_ body: (UseCaseFixture) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url.appendingPathComponent("images"))
    try await StoreFactory.sqlite.withStore { store in
      try await body(UseCaseFixture(store: store, blobs: blobs, chat: ChatHub(store: store)))
    }
  }

  /// The leading bytes of a PNG file, then `count` more.
  static func png(_ count: Int = 20) -> [UInt8] {
    pngBytes(count)
  }
}
