import Crypto
import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontCore
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("UploadProductImages over HTTP/2")
struct UploadProductImagesTests {
  static let png = pngBytes(5_000)
  static let gif: [UInt8] = Array("GIF89a".utf8) + Array(repeating: 1, count: 3_000)

  static func metadata(
    _ productID: String,
    _ type: String = "image/png"
  ) -> Storefront_V1_ImageRequest {
    .with {
      $0.metadata = .with {
        $0.productID = productID
        $0.filename = "photo"
        $0.contentType = type
      }
    }
  }

  static func chunks(_ bytes: [UInt8], size: Int = 1_000) -> [Storefront_V1_ImageRequest] {
    stride(from: 0, to: bytes.count, by: size).map { start in
      .with { $0.chunk = Data(bytes[start ..< min(bytes.count, start + size)]) }
    }
  }

  @Test("two images in one stream are stored under their hashes and attached in order")
  func twoImages() async throws {
    try await TestServer.with { client, server in
      let product = try await client.create()
      let response = try await client.uploadProductImages { writer in
        try await writer.write(Self.metadata(product.id))
        try await writer.write(contentsOf: Self.chunks(Self.png))
        try await writer.write(Self.metadata(product.id, "image/gif"))
        try await writer.write(contentsOf: Self.chunks(Self.gif))
      }
      #expect(response.images.count == 2)
      #expect(response.totalBytes == Int64(Self.png.count + Self.gif.count))
      let pngHash = SHA256.hash(data: Self.png).map { String(format: "%02x", $0) }.joined()
      #expect(response.images.first?.sha256 == pngHash)
      #expect(response.images.first?.sizeBytes == Int64(Self.png.count))
      let stored = try Data(contentsOf: server.blobs.url(forSHA256: pngHash))
      #expect(Array(stored) == Self.png)
      let after = try await client.getProduct(.with { $0.id = product.id }).product
      #expect(after.imageIds == response.images.map(\.imageID))
      #expect(after.etag != product.etag)
      #expect(server.blobs.stagedFiles().isEmpty)
    }
  }

  @Test("bad uploads answer the right code, record nothing and leave no temporary file")
  func badUploads() async throws {
    let smallImages: (inout StorefrontServer.Configuration) -> Void = {
      $0.service.images.maxImageBytes = 4_000
    }
    try await TestServer.with(configure: smallImages) { client, server in
      let product = try await client.create()
      let cases: [(RPCError.Code, [Storefront_V1_ImageRequest])] = [
        (.invalidArgument, Self.chunks(Self.png)),
        (.notFound, [Self.metadata("p_missing")] + Self.chunks(Self.png)),
        (.invalidArgument, [Self.metadata(product.id)] + Self.chunks(Self.gif)),
        (.invalidArgument, [Self.metadata(product.id, "text/plain")]),
        (.resourceExhausted, [Self.metadata(product.id)] + Self.chunks(Self.png)),
        (
          .invalidArgument,
          [
            .with {
              $0.metadata = .with {
                $0.productID = product.id
                $0.contentType = "image/gif"
                $0.sha256 = String(repeating: "0", count: 64)
              }
            }
          ] + Self.chunks(Array(Self.gif.prefix(1_000)))
        ),
      ]
      for (code, messages) in cases {
        try await expectRPCError(code) {
          _ = try await client.uploadProductImages { writer in
            try await writer.write(contentsOf: messages)
          }
        }
        #expect(server.blobs.stagedFiles().isEmpty)
      }
      let after = try await client.getProduct(.with { $0.id = product.id }).product
      #expect(after.imageIds.isEmpty)
    }
  }

  @Test("an upload cancelled midway records nothing and leaves no temporary file")
  func cancelledMidway() async throws {
    struct ClientGaveUp: Error {}
    try await TestServer.with { client, server in
      let product = try await client.create()
      await #expect(throws: (any Error).self) {
        _ = try await client.uploadProductImages { writer in
          try await writer.write(Self.metadata(product.id))
          try await writer.write(contentsOf: Self.chunks(Array(Self.png.prefix(2_000))))
          #expect(try await eventually { !server.blobs.stagedFiles().isEmpty })
          throw ClientGaveUp()
        }
      }
      #expect(try await eventually { server.blobs.stagedFiles().isEmpty })
      let after = try await client.getProduct(.with { $0.id = product.id }).product
      #expect(after.imageIds.isEmpty)
    }
  }
}
