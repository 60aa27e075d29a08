import Foundation
import StorefrontCore
import StorefrontTestKit
import Testing

/// Image uploads: staging, format sniffing, checksums, limits, and all or nothing.
@Suite("ImageUpload")
struct ImageUploadTests {
  static func upload(
    _ fixture: UseCaseFixture,
    limits: ImageLimits = ImageLimits()
  ) -> ImageUpload {
    ImageUpload(
      products: fixture.store,
      images: fixture.store,
      content: fixture.blobs,
      limits: limits
    )
  }

  @Test("several images in one stream are stored by hash and attached in order")
  func severalImages() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let upload = Self.upload(fixture)
      for (name, bytes) in [("a.png", UseCaseFixture.png(1)), ("b.png", UseCaseFixture.png(2))] {
        try await upload.begin(
          ImageMetadata(productID: product.id, filename: name, contentType: "image/png")
        )
        try upload.append(bytes.prefix(5))
        try upload.append(bytes.dropFirst(5))
      }
      let records = try await upload.finish()
      #expect(records.map(\.filename) == ["a.png", "b.png"])
      #expect(records.map(\.sizeBytes) == [9, 10])
      #expect(try await fixture.store.product(id: product.id).imageIDs == records.map(\.id))
      for record in records {
        #expect(
          FileManager.default.fileExists(atPath: fixture.blobs.url(forSHA256: record.sha256).path)
        )
      }
      #expect(fixture.blobs.stagedFiles().isEmpty)
    }
  }

  @Test("content that is not the declared type is refused naming metadata.content_type")
  func wrongType() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let upload = Self.upload(fixture)
      try await upload.begin(
        ImageMetadata(productID: product.id, filename: "a.jpg", contentType: "image/jpeg")
      )
      let error = #expect(throws: StorefrontError.self) {
        try upload.append(UseCaseFixture.png())
      }
      #expect(error?.fieldViolations.map(\.field) == ["metadata.content_type"])
    }
  }

  @Test("a checksum that does not match is refused naming metadata.sha256; nothing is stored")
  func checksumMismatch() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      do {
        let upload = Self.upload(fixture)
        try await upload.begin(
          ImageMetadata(
            productID: product.id,
            filename: "a.png",
            contentType: "image/png",
            sha256: String(repeating: "ab", count: 32)
          )
        )
        try upload.append(UseCaseFixture.png())
        let error = await #expect(throws: StorefrontError.self) { try await upload.finish() }
        #expect(error?.fieldViolations.map(\.field) == ["metadata.sha256"])
      }
      #expect(try await fixture.store.product(id: product.id).imageIDs.isEmpty)
      #expect(fixture.blobs.stagedFiles().isEmpty)
    }
  }

  @Test(
    "bad metadata and bad order are refused with the field named",
    arguments: [
      ("chunk first", "chunk"), ("no image", "metadata"), ("empty image", "chunk"),
      ("bad type", "metadata.content_type"), ("bad name", "metadata.filename"),
      ("bad checksum", "metadata.sha256"), ("no product id", "metadata.product_id"),
    ]
  )
  func badStreams(_ name: String, _ field: String) async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let upload = Self.upload(fixture)
      var metadata = ImageMetadata(
        productID: product.id,
        filename: "a.png",
        contentType: "image/png"
      )
      let error = await #expect(throws: StorefrontError.self) {
        switch name {
        case "chunk first": try upload.append([1, 2, 3])
        case "no image": _ = try await upload.finish()
        case "empty image":
          try await upload.begin(metadata)
          _ = try await upload.finish()
        case "bad type":
          metadata.contentType = "text/plain"
          try await upload.begin(metadata)
        case "bad name":
          metadata.filename = "a\nb.png"
          try await upload.begin(metadata)
        case "bad checksum":
          metadata.sha256 = "xyz"
          try await upload.begin(metadata)
        default:
          metadata.productID = ""
          try await upload.begin(metadata)
        }
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.fieldViolations.map(\.field) == [field])
    }
  }

  @Test("limits: too many images and too large an image answer resourceExhausted")
  func limits() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let metadata = ImageMetadata(
        productID: product.id,
        filename: "a.png",
        contentType: "image/png"
      )
      let upload = Self.upload(
        fixture,
        limits: ImageLimits(maxImageBytes: 30, maxImagesPerUpload: 1)
      )
      try await upload.begin(metadata)
      let large = #expect(throws: StorefrontError.self) {
        try upload.append(UseCaseFixture.png(40))
      }
      #expect(large?.code == .resourceExhausted)
      try upload.append(UseCaseFixture.png(1))
      let many = await #expect(throws: StorefrontError.self) { try await upload.begin(metadata) }
      #expect(many?.code == .resourceExhausted)
    }
  }

  @Test("an upload dropped before it finishes leaves no staged file and no record")
  func droppedUpload() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      do {
        let upload = Self.upload(fixture)
        try await upload.begin(
          ImageMetadata(productID: product.id, filename: "a.png", contentType: "image/png")
        )
        try upload.append(UseCaseFixture.png())
        #expect(fixture.blobs.stagedFiles().count == 1)
      }
      #expect(fixture.blobs.stagedFiles().isEmpty)
      #expect(try await fixture.store.product(id: product.id).imageIDs.isEmpty)
    }
  }

  @Test("a download streams from its offset in chunks; past the end is outOfRange")
  func download() async throws {
    try await UseCaseFixture.run { fixture in
      let product = try await fixture.store.insert(.sample())
      let upload = Self.upload(fixture)
      let bytes = UseCaseFixture.png(3_000)
      try await upload.begin(
        ImageMetadata(productID: product.id, filename: "a.png", contentType: "image/png")
      )
      try upload.append(bytes)
      let record = try #require(try await upload.finish().first)
      let download = try await ImageDownload(
        imageID: record.id,
        offset: 8,
        chunkSize: 1_024,
        images: fixture.store,
        content: fixture.blobs,
        limits: ImageLimits()
      )
      var chunks: [Data] = []
      for try await chunk in download { chunks.append(chunk) }
      #expect(chunks.map(\.count) == [1_024, 1_024, 952])
      #expect(Array(chunks.joined()) == Array(bytes.dropFirst(8)))
      let error = await #expect(throws: StorefrontError.self) {
        _ = try await ImageDownload(
          imageID: record.id,
          offset: record.sizeBytes + 1,
          chunkSize: 0,
          images: fixture.store,
          content: fixture.blobs,
          limits: ImageLimits()
        )
      }
      #expect(error?.code == .outOfRange)
    }
  }
}
