import Foundation
import StorefrontCore
import StorefrontTestKit
import Testing

/// The catalogue's use cases, over a real SQLite store: every rule of a product write.
@Suite("Catalogue")
struct CatalogueTests {
  @Test("create refuses a bad draft with invalidArgument naming each field, and stores nothing")
  func createRefusesBadDraft() async throws {
    try await UseCaseFixture.run { fixture throws in
      let error = await #expect(throws: StorefrontError.self) {
        try await fixture.catalogue.create(.sample(name: "", priceCents: -1))
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.fieldViolations.map(\.field) == ["name", "price_cents"])
      #expect(try await fixture.store.productCount() == 0)
    }
  }

  @Test("a taken sku answers alreadyExists naming the sku and the product that has it")
  func takenSKU() async throws {
    try await UseCaseFixture.run { fixture in
      let owner = try await fixture.catalogue.create(.sample(sku: "MUG-1"))
      let other = try await fixture.catalogue.create(.sample(sku: "MUG-2"))
      let created = await #expect(throws: StorefrontError.self) {
        try await fixture.catalogue.create(.sample(sku: "MUG-1"))
      }
      #expect(created?.code == .alreadyExists)
      #expect(created?.message == "sku 'MUG-1' is taken by product '\(owner.id)'")
      let updated = await #expect(throws: StorefrontError.self) {
        try await fixture.catalogue.update(
          id: other.id,
          paths: ["sku"],
          values: .sample(sku: "MUG-1"),
          expectedETag: nil
        )
      }
      #expect(updated?.code == .alreadyExists)
      #expect(updated?.message == "sku 'MUG-1' is taken by product '\(owner.id)'")
    }
  }

  @Test("update changes only the paths of its mask")
  func updateByPaths() async throws {
    try await UseCaseFixture.run { fixture in
      let created = try await fixture.catalogue.create(.sample(name: "Before", priceCents: 100))
      let updated = try await fixture.catalogue.update(
        id: created.id,
        paths: ["price_cents"],
        values: .sample(sku: "IGNORED", name: "Ignored", priceCents: 250),
        expectedETag: created.etag
      )
      #expect(updated.draft.priceCents == 250)
      #expect(updated.draft.name == "Before")
      #expect(updated.draft.sku == created.draft.sku)
      #expect(updated.etag != created.etag)
    }
  }

  @Test("an empty or over-long id is refused with invalidArgument naming id", arguments: [0, 129])
  func idsAreChecked(_ length: Int) async throws {
    try await UseCaseFixture.run { fixture in
      let id = String(repeating: "p", count: length)
      for call in [
        { _ = try await fixture.catalogue.product(id: id) },
        { try await fixture.catalogue.delete(id: id, expectedETag: nil) },
        {
          _ = try await fixture.catalogue.update(
            id: id,
            paths: [],
            values: .sample(),
            expectedETag: nil
          )
        },
      ] as [() async throws -> Void] {
        let error = await #expect(throws: StorefrontError.self) { try await call() }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations.map(\.field) == ["id"])
      }
    }
  }

  @Test("delete removes the image files only the product used and closes its chat room")
  func deleteCleansUp() async throws {
    try await UseCaseFixture.run { fixture in
      let doomed = try await fixture.catalogue.create(.sample())
      let kept = try await fixture.catalogue.create(.sample())
      let shared = try await Self.storeImage(fixture.blobs, bytes: UseCaseFixture.png(1))
      let own = try await Self.storeImage(fixture.blobs, bytes: UseCaseFixture.png(2))
      try await fixture.store.attach([
        .sample(id: "img_shared_a", productID: doomed.id, sha256: shared),
        .sample(id: "img_shared_b", productID: kept.id, sha256: shared),
        .sample(id: "img_own", productID: doomed.id, sha256: own),
      ])
      let member = try await fixture.chat.join(room: doomed.id, sender: "ada")

      let current = try await fixture.catalogue.product(id: doomed.id)
      try await fixture.catalogue.delete(id: doomed.id, expectedETag: current.etag)

      #expect(Self.exists(fixture.blobs, shared))
      #expect(!Self.exists(fixture.blobs, own))
      #expect(member.outbox.ending == .left)
      let error = await #expect(throws: StorefrontError.self) {
        try await fixture.catalogue.product(id: doomed.id)
      }
      #expect(error?.code == .notFound)
    }
  }

  @Test("a listing reads every match in id order, a batch at a time, up to the page size")
  func listing() async throws {
    try await UseCaseFixture.run { fixture in
      var books: [String] = []
      for index in 0 ..< 10 {
        let product = try await fixture.catalogue.create(
          .sample(category: index.isMultiple(of: 3) ? "toys" : "books")
        )
        if !index.isMultiple(of: 3) { books.append(product.id) }
      }
      let filter = ProductFilter(category: "books")
      var all: [String] = []
      for try await product in try fixture.catalogue.list(filter, pageSize: 0) {
        all.append(product.id)
      }
      #expect(all == books.sorted())
      var page: [String] = []
      for try await product in try fixture.catalogue.list(filter, pageSize: 5) {
        page.append(product.id)
      }
      #expect(page == Array(books.sorted().prefix(5)))
    }
  }

  @Test("a negative page size or a bad filter is refused before anything is read")
  func listingRefusesBadRequests() async throws {
    try await UseCaseFixture.run { fixture in
      let negative = #expect(throws: StorefrontError.self) {
        try fixture.catalogue.list(ProductFilter(), pageSize: -1)
      }
      #expect(negative?.fieldViolations.map(\.field) == ["page_size"])
      let bounds = #expect(throws: StorefrontError.self) {
        try fixture.catalogue.list(ProductFilter(minPriceCents: 5, maxPriceCents: 1), pageSize: 0)
      }
      #expect(bounds?.fieldViolations.map(\.field) == ["max_price_cents"])
    }
  }

  @Test("a listing whose task is cancelled stops with CancellationError")
  func listingStopsWhenCancelled() async throws {
    try await UseCaseFixture.run { fixture in
      for _ in 0 ..< 5 { _ = try await fixture.catalogue.create(.sample()) }
      let listing = try fixture.catalogue.list(ProductFilter(), pageSize: 0)
      let task = Task {
        withUnsafeCurrentTask { $0?.cancel() }
        var iterator = listing.makeAsyncIterator()
        return try await iterator.next()
      }
      await #expect(throws: CancellationError.self) { try await task.value }
    }
  }

  private static func storeImage(_ blobs: ImageBlobStore, bytes: [UInt8]) async throws -> String {
    let staged = try blobs.stage(maxBytes: 1_024)
    try staged.append(bytes)
    let finished = try blobs.finish(staged)
    try await blobs.place([finished]) {}
    return finished.sha256
  }

  private static func exists(_ blobs: ImageBlobStore, _ sha256: String) -> Bool {
    FileManager.default.fileExists(atPath: blobs.url(forSHA256: sha256).path)
  }
}
