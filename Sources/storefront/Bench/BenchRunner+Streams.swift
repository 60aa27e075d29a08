import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

extension BenchRunner {
  /// UploadProductImages of one image of `size` bytes each, to the catalogue's first
  /// `products` products in turn (the first one first): MiB/s. Every image has the same bytes
  /// (a PNG signature, then zeros), so the server stores one file however many uploads run.
  /// (All to one product measured that product's growing list of images, which every write
  /// to it records again, more than the upload.)
  func upload(size: Int, chunk: Int, products: Int) async throws -> BenchResult {
    let productIDs = try await self.catalogueIDs(limit: products)
    let chunks = Self.imageChunks(size: size, chunk: chunk)
    let workers = self.plan.concurrency
    return await self.closedLoop(scenario: "upload", unit: "bytes") { step in
      let productID = productIDs[(step.iteration * workers + step.worker) % productIDs.count]
      let stored = try await self.uploadImage(chunks, to: productID, with: step.client)
      // Bytes count once the server has stored them: a refused upload counts none.
      step.recorder.recordUnits(Int(clamping: stored.totalBytes))
    }
  }

  /// One UploadProductImages of the image in `chunks` to `productID`.
  private func uploadImage(
    _ chunks: [Storefront_V1_ImageRequest],
    to productID: String,
    with client: BenchClient
  ) async throws -> Storefront_V1_UploadResponse {
    try await client.uploadProductImages(
      metadata: self.plan.metadata,
      options: self.callOptions
    ) { writer in
      try await writer.write(Self.imageMetadata(productID: productID))
      try await writer.write(contentsOf: chunks)
    }
  }

  /// DownloadProductImage of `image`, or of one image of `size` bytes uploaded first: MiB/s.
  func download(size: Int, chunk: Int, image: String? = nil) async throws -> BenchResult {
    let imageID: String
    if let image {
      imageID = image
    } else {
      let productID = try await self.catalogueIDs(limit: 1)[0]
      let uploaded = try await self.uploadImage(
        Self.imageChunks(size: size, chunk: 64 * 1024),
        to: productID,
        with: self.clients[0]
      )
      guard let uploadedID = uploaded.images.first?.imageID else {
        throw CommandFailure("the upload answered no image id")
      }
      imageID = uploadedID
    }
    let request = Storefront_V1_DownloadProductImageRequest.with {
      $0.imageID = imageID
      $0.chunkSize = Int32(clamping: chunk)
    }
    let metadata = self.plan.metadata
    let options = self.callOptions
    return await self.closedLoop(scenario: "download", unit: "bytes") { step in
      try await step.client.downloadProductImage(request, metadata: metadata, options: options) {
        response in
        for try await message in response.messages {
          if case .chunk(let bytes) = message.data { step.recorder.recordUnits(bytes.count) }
        }
      }
    }
  }

  /// ImportProducts streams of `batch` new products each: products/s.
  func importProducts(batch: Int) async throws -> BenchResult {
    let metadata = self.plan.metadata
    let options = self.callOptions
    // Skus unique to this run, so each import creates products.
    let run = String(UInt32.random(in: 0 ... UInt32.max), radix: 36).uppercased()
    return await self.closedLoop(scenario: "import", unit: "products") { step in
      let prefix = "BENCH-\(run)-\(step.worker)-\(step.iteration)"
      _ = try await step.client.importProducts(metadata: metadata, options: options) { writer in
        for index in 0 ..< batch {
          try await writer.write(
            .with {
              $0.product = .with {
                $0.sku = "\(prefix)-\(index)"
                $0.name = "Bench product \(index)"
                $0.description_p = "A product imported by storefront bench."
                $0.category = "bench"
                $0.priceCents = 1_999
                $0.currency = "USD"
                $0.stock = 10
              }
            }
          )
        }
        step.recorder.recordUnits(batch)
      }
    }
  }

  /// The metadata message that starts the bench's image upload to `productID`.
  static func imageMetadata(productID: String) -> Storefront_V1_ImageRequest {
    .with {
      $0.metadata = .with {
        $0.productID = productID
        $0.filename = "bench.png"
        $0.contentType = "image/png"
      }
    }
  }

  /// The messages of an image of `size` bytes: a PNG signature, then zeros, in chunks that
  /// share their storage, so that a 1 GiB image costs the client one chunk of memory.
  static func imageChunks(size: Int, chunk: Int) -> [Storefront_V1_ImageRequest] {
    let zeros = Data(count: chunk)
    var first = zeros.prefix(min(size, chunk))
    first.replaceSubrange(0 ..< 8, with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    return stride(from: 0, to: size, by: chunk).map { offset in
      let length = min(chunk, size - offset)
      return .with {
        $0.chunk = offset == 0 ? Data(first) : length == chunk ? zeros : zeros.prefix(length)
      }
    }
  }
}
