import Foundation
import StorefrontCore
import StorefrontPostgres
import StorefrontTestKit
import Testing

/// Image bytes in the database: staged locally, copied in chunks, read back a piece at a
/// time, and never left behind by a failed record or a deleted product.
@Suite(
  "PostgreSQL image content",
  .enabled(if: TestDatabase.isConfigured, "STOREFRONT_TEST_POSTGRES_URL is unset"),
  .serialized
)
struct PostgresImageContentTests {
  /// 600,000 bytes, a little over two chunks, none of them repeating a chunk.
  static let bytes: [UInt8] = (0 ..< 600_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }

  func withContent(
    _ body: (PostgresStore, PostgresImageContentStore, URL) async throws -> Void
  ) async throws {
    let url = try await TestDatabase.create()
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try await PostgresStore(
      configuration: PostgresStore.Configuration(database: url, maximumConnections: 4),
      logger: TestDatabase.logger
    )
    let staging = directory.url.appendingPathComponent("staging")
    do {
      let content = try PostgresImageContentStore(store: store, stagingDirectory: staging)
      try await body(store, content, staging)
    } catch {
      store.close()
      try? await TestDatabase.drop(url)
      throw error
    }
    store.close()
    try await TestDatabase.drop(url)
  }

  /// Stages `bytes` in pieces that do not line up with the chunks.
  static func stage(
    _ bytes: [UInt8],
    in content: PostgresImageContentStore
  ) throws -> (
    StagedImage, FinishedUpload
  ) {
    let staged = try content.stage(maxBytes: 1 << 30)
    var offset = 0
    while offset < bytes.count {
      let end = min(bytes.count, offset + 70_001)
      try staged.append(bytes[offset ..< end])
      offset = end
    }
    return (staged, try content.finish(staged))
  }

  static func stagedFiles(_ staging: URL) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []
  }

  @Test("placed content reads back byte for byte, from any offset, across chunk boundaries")
  func roundTrip() async throws {
    try await self.withContent { store, content, staging in
      let product = try await store.insert(.sample())
      let (staged, upload) = try Self.stage(Self.bytes, in: content)
      try await content.place([upload]) {
        try await store.attach([
          .sample(id: "img_1", productID: product.id, sha256: upload.sha256)
        ])
      }
      withExtendedLifetime(staged) {}
      #expect(Self.stagedFiles(staging).isEmpty)
      let reader = try await content.open(sha256: upload.sha256)
      defer { reader.close() }
      #expect(Array(try await reader.read(at: 0, count: Self.bytes.count)) == Self.bytes)
      let boundary = PostgresImageContentStore.chunkSize
      let across = try await reader.read(at: Int64(boundary - 100), count: 1_000)
      #expect(Array(across) == Array(Self.bytes[(boundary - 100) ..< (boundary + 900)]))
      let tail = try await reader.read(at: Int64(Self.bytes.count - 10), count: 100)
      #expect(Array(tail) == Array(Self.bytes.suffix(10)))
      #expect(try await reader.read(at: Int64(Self.bytes.count), count: 100).isEmpty)
    }
  }

  @Test("a record that fails leaves no content; content placed twice is stored once")
  func failedRecordLeavesNothing() async throws {
    struct RecordFailed: Error {}
    try await self.withContent { store, content, _ in
      let (staged, upload) = try Self.stage(Self.bytes, in: content)
      await #expect(throws: RecordFailed.self) {
        try await content.place([upload]) { throw RecordFailed() }
      }
      withExtendedLifetime(staged) {}
      let missing = await #expect(throws: StorefrontError.self) {
        try await content.open(sha256: upload.sha256)
      }
      #expect(missing?.code == .internalError)

      let product = try await store.insert(.sample())
      for index in 1 ... 2 {
        let (again, second) = try Self.stage(Self.bytes, in: content)
        try await content.place([second]) {
          try await store.attach([
            .sample(id: "img_\(index)", productID: product.id, sha256: second.sha256)
          ])
        }
        withExtendedLifetime(again) {}
      }
      let reader = try await content.open(sha256: upload.sha256)
      #expect(Array(try await reader.read(at: 0, count: 10)) == Array(Self.bytes.prefix(10)))
      #expect(try await content.removeLeftovers(keeping: []) == 0)
    }
  }

  @Test(
    "removeUnreferenced deletes what no record references; removeLeftovers, orphans and staged files"
  )
  func removal() async throws {
    try await self.withContent { store, content, staging in
      let kept = try await store.insert(.sample())
      let dropped = try await store.insert(.sample())
      let (first, shared) = try Self.stage(Self.bytes, in: content)
      let (second, own) = try Self.stage(Array(Self.bytes.reversed()), in: content)
      try await content.place([shared, own]) {
        try await store.attach([
          .sample(id: "img_1", productID: kept.id, sha256: shared.sha256),
          .sample(id: "img_2", productID: dropped.id, sha256: shared.sha256),
          .sample(id: "img_3", productID: dropped.id, sha256: own.sha256),
        ])
      }
      withExtendedLifetime((first, second)) {}
      try await content.removeUnreferenced {
        try await store.delete(id: dropped.id, expectedETag: nil)
      }
      _ = try await content.open(sha256: shared.sha256)
      let gone = await #expect(throws: StorefrontError.self) {
        try await content.open(sha256: own.sha256)
      }
      #expect(gone?.code == .internalError)

      // A product deleted without removing its content (a replica killed in between), and
      // an upload still staged: both leftovers.
      _ = try await store.delete(id: kept.id, expectedETag: nil)
      let leftover = try content.stage(maxBytes: 10)
      try leftover.append([1, 2, 3])
      #expect(Self.stagedFiles(staging).count == 1)
      #expect(try await content.removeLeftovers(keeping: []) == 2)
      #expect(Self.stagedFiles(staging).isEmpty)
      await #expect(throws: StorefrontError.self) {
        try await content.open(sha256: shared.sha256)
      }
    }
  }
}
