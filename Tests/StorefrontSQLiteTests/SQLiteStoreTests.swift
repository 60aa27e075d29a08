import Foundation
import StorefrontCore
import StorefrontSQLite
import StorefrontTestKit
import Testing

/// What only the SQLite store has: a file that outlives the process.
@Suite("SQLiteStore")
struct SQLiteStoreTests {
  @Test("data written survives closing the store and opening the same file again")
  func survivesReopening() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.url.appendingPathComponent("storefront.sqlite").path

    let product: Product
    let image: ImageRecord
    let message = ChatRecord.sample(room: "p_room", sequence: 1)
    do {
      let store = try SQLiteStore(path: path)
      let created = try await store.insert(.sample(name: "Durable"))
      image = ImageRecord.sample(id: "img_01", productID: created.id, sha256: fakeSHA256("a"))
      try await store.attach([image])
      product = try await store.update(
        ProductUpdate(id: created.id, fields: [.stock], values: .sample(stock: 42))
      )
      try await store.append(message)
      try store.close()
    }

    let reopened = try SQLiteStore(path: path)
    defer { try? reopened.close() }
    let fetched = try await reopened.product(id: product.id)
    #expect(fetched == product)
    #expect(fetched.draft.stock == 42)
    #expect(fetched.imageIDs == [image.id])
    #expect(try await reopened.image(id: image.id) == image)
    #expect(try await reopened.productCount() == 1)
    #expect(try await reopened.recentMessages(room: "p_room", before: 10, limit: 10) == [message])
  }

  @Test("a closed store refuses to read")
  func closedStoreRefuses() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try SQLiteStore(path: directory.url.appendingPathComponent("s.sqlite").path)
    let product = try await store.insert(.sample())
    try store.close()
    await #expect(throws: StorefrontError.self) {
      try await store.product(id: product.id)
    }
  }
}
