import Crypto
import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("DownloadProductImage over HTTP/2")
struct DownloadProductImageTests {
  /// A PNG-looking image of 200,000 bytes that are not all alike.
  static let image: [UInt8] =
    [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    + (0 ..< 199_992).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }

  /// Uploads ``image`` to a new product; returns the stored image.
  static func uploaded(_ client: ProductClient) async throws -> Storefront_V1_UploadedImage {
    let product = try await client.create()
    let response = try await client.uploadProductImages { writer in
      try await writer.write(UploadProductImagesTests.metadata(product.id))
      try await writer.write(contentsOf: UploadProductImagesTests.chunks(Self.image, size: 65_536))
    }
    return try #require(response.images.first)
  }

  /// Downloads the bytes in chunks of `chunkSize`, calling `goOn` with the bytes so far after
  /// each chunk; stops early when it answers false.
  static func bytes(
    _ client: ProductClient,
    _ imageID: String,
    chunkSize: Int32,
    goOn: @escaping @Sendable (Data) async throws -> Bool
  ) async throws -> Data {
    try await client.downloadProductImage(
      .with {
        $0.imageID = imageID
        $0.chunkSize = chunkSize
      }
    ) { response in
      var bytes = Data()
      for try await message in response.messages {
        if case .chunk(let chunk) = message.data { bytes += chunk }
        if try await !goOn(bytes) { break }
      }
      return bytes
    }
  }

  /// Downloads, returning the metadata and the chunks.
  static func download(
    _ client: ProductClient,
    _ request: Storefront_V1_DownloadProductImageRequest
  ) async throws -> (metadata: Storefront_V1_UploadedImage?, chunks: [Data]) {
    try await client.downloadProductImage(request) { response in
      var metadata: Storefront_V1_UploadedImage?
      var chunks: [Data] = []
      for try await message in response.messages {
        switch message.data {
        case .metadata(let value):
          #expect(metadata == nil && chunks.isEmpty, "metadata comes first, once")
          metadata = value
        case .chunk(let bytes):
          chunks.append(bytes)
        case nil:
          Issue.record("a message with neither metadata nor chunk")
        }
      }
      return (metadata, chunks)
    }
  }

  @Test("the metadata, then the bytes in chunks of the asked size, byte-identical")
  func wholeImage() async throws {
    try await TestServer.with { client, _ in
      let stored = try await Self.uploaded(client)
      let (metadata, chunks) = try await Self.download(
        client,
        .with {
          $0.imageID = stored.imageID
          $0.chunkSize = 50_000
        }
      )
      #expect(metadata == stored)
      #expect(chunks.map(\.count) == [50_000, 50_000, 50_000, 50_000])
      #expect(Array(chunks.reduce(Data(), +)) == Self.image)
      // The server's default chunk: 64 KiB.
      let (_, defaultChunks) = try await Self.download(
        client,
        .with { $0.imageID = stored.imageID }
      )
      #expect(defaultChunks.map(\.count) == [65_536, 65_536, 65_536, 3_392])
    }
  }

  @Test("a download resumed at an offset completes the file byte for byte")
  func resumeAtOffset() async throws {
    try await TestServer.with { client, _ in
      let stored = try await Self.uploaded(client)
      // The first attempt breaks after two chunks.
      let partial = try await Self.bytes(client, stored.imageID, chunkSize: 4_096) {
        $0.count < 8_192
      }
      #expect(partial.count == 8_192)
      let (metadata, rest) = try await Self.download(
        client,
        .with {
          $0.imageID = stored.imageID
          $0.offset = Int64(partial.count)
        }
      )
      let whole = partial + rest.reduce(Data(), +)
      #expect(Array(whole) == Self.image)
      let digest = SHA256.hash(data: whole).map { String(format: "%02x", $0) }.joined()
      #expect(digest == metadata?.sha256)
    }
  }

  @Test("an offset at the end sends the metadata only")
  func offsetAtEnd() async throws {
    try await TestServer.with { client, _ in
      let stored = try await Self.uploaded(client)
      let (metadata, chunks) = try await Self.download(
        client,
        .with {
          $0.imageID = stored.imageID
          $0.offset = stored.sizeBytes
        }
      )
      #expect(metadata == stored)
      #expect(chunks.isEmpty)
    }
  }

  @Test("bad requests answer the right code and the server goes on")
  func badRequests() async throws {
    try await TestServer.with { client, _ in
      let stored = try await Self.uploaded(client)
      let cases: [(Storefront_V1_DownloadProductImageRequest, RPCError.Code, [String])] = [
        (.with { $0.imageID = "" }, .invalidArgument, ["image_id"]),
        (.with { $0.imageID = "img_unknown" }, .notFound, []),
        (
          .with {
            $0.imageID = stored.imageID
            $0.offset = stored.sizeBytes + 1
          }, .outOfRange, []
        ),
        (
          .with {
            $0.imageID = stored.imageID
            $0.offset = -1
          }, .invalidArgument, ["offset"]
        ),
        (
          .with {
            $0.imageID = stored.imageID
            $0.chunkSize = 100
          }, .invalidArgument, ["chunk_size"]
        ),
        (
          .with {
            $0.imageID = stored.imageID
            $0.chunkSize = 2_000_000
          }, .invalidArgument, ["chunk_size"]
        ),
      ]
      for (request, code, fields) in cases {
        let named = try await expectRPCError(code) { _ = try await Self.download(client, request) }
        #expect(named == fields, "\(request)")
      }
      let (metadata, _) = try await Self.download(client, .with { $0.imageID = stored.imageID })
      #expect(metadata == stored)
    }
  }

  @Test("an image whose product is deleted mid-download still downloads whole; then NOT_FOUND")
  func productDeletedDuringDownload() async throws {
    try await TestServer.with { client, _ in
      let stored = try await Self.uploaded(client)
      // The product goes right after the first chunk.
      let bytes = try await Self.bytes(client, stored.imageID, chunkSize: 1_024) { bytes in
        if bytes.count == 1_024 {
          _ = try await client.deleteProduct(.with { $0.id = stored.productID })
        }
        return true
      }
      #expect(Array(bytes) == Self.image)
      try await expectRPCError(.notFound) {
        _ = try await Self.download(client, .with { $0.imageID = stored.imageID })
      }
    }
  }
}
