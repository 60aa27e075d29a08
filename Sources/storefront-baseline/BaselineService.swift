import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

/// The framework alone: Storefront's own service protocol with no store, no validation and
/// no interceptors, so that `storefront bench` can drive it exactly as it drives Storefront
/// and report every Storefront figure as a ratio to this.
///
/// Every answer is built once, at start, and has the size of a real one. Chat and the change
/// feed live in memory: a room relays each message to its members, and an UpdateProduct goes
/// to every WatchProducts stream open at the time (no filter, no history, no store).
struct BaselineService: Storefront_V1_ProductService.SimpleServiceProtocol {
  /// How many products a ListProducts with `page_size` 0 streams.
  let catalogueSize: Int
  /// The chat rooms, one group each.
  let rooms = BaselineFanOut<Storefront_V1_ChatMessage>()
  /// The change feed: one group, which UpdateProduct publishes to and WatchProducts reads.
  let changes = BaselineFanOut<Storefront_V1_ProductChange>()

  /// A product of the size of a demo-catalogue product.
  static let product: Storefront_V1_Product = .with {
    $0.id = "p_01JBASELINE0000000000000042"
    $0.sku = "DEMO-KIT-42"
    $0.name = "Handmade Knife Set #42"
    $0.description_p = "Handmade knife set in charcoal, from our kitchen range."
    $0.category = "kitchen"
    $0.priceCents = 12_399
    $0.currency = "USD"
    $0.stock = 321
    $0.createTime = .init(seconds: 1_764_000_000, nanos: 123_456_000)
    $0.updateTime = .init(seconds: 1_764_000_000, nanos: 123_456_000)
    $0.etag = "3a81007485e6751f"
  }

  static let response = Storefront_V1_ProductResponse.with { $0.product = Self.product }

  func getProduct(
    request: Storefront_V1_ProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    Self.response
  }

  func listProducts(
    request: Storefront_V1_ProductRequest,
    response: RPCWriter<Storefront_V1_ProductResponse>,
    context: ServerContext
  ) async throws {
    let count = request.pageSize > 0 ? Int(request.pageSize) : self.catalogueSize
    for _ in 0 ..< count {
      try await response.write(Self.response)
    }
  }

  func uploadProductImages(
    request: RPCAsyncSequence<Storefront_V1_ImageRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_UploadResponse {
    var total: Int64 = 0
    for try await message in request {
      if case .chunk(let bytes) = message.data {
        total += Int64(bytes.count)
      }
    }
    // One image for the whole stream, named by its size, which DownloadProductImage reads.
    return .with {
      $0.totalBytes = total
      $0.images = [
        .with {
          $0.imageID = "img_\(total)"
          $0.sizeBytes = total
        }
      ]
    }
  }

  /// A member's first message joins a room; every later one goes to every member of that
  /// room, the sender included, with the room's next sequence.
  func chat(
    request: RPCAsyncSequence<Storefront_V1_ChatMessage, any Error>,
    response: RPCWriter<Storefront_V1_ChatMessage>,
    context: ServerContext
  ) async throws {
    var messages = request.makeAsyncIterator()
    guard let join = try await messages.next() else { return }
    try await self.rooms.subscribe(to: join.room) { subscription in
      try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await response.write(contentsOf: subscription.messages) }
        while let message = try await messages.next() {
          self.rooms.publish(to: join.room) { sequence in
            var relayed = message
            relayed.sequence = sequence
            return relayed
          }
        }
        subscription.finish()
      }
    }
  }

  func createProduct(
    request: Storefront_V1_CreateProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    throw RPCError(code: .unimplemented, message: "the baseline has no store")
  }

  /// Answers the demo product with the request's id and description (what the bench's watch
  /// scenario writes), and publishes it as a change to every open WatchProducts stream.
  func updateProduct(
    request: Storefront_V1_UpdateProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_ProductResponse {
    var product = Self.product
    product.id = request.product.id
    product.description_p = request.product.description_p
    let changeTime = Google_Protobuf_Timestamp(date: Date())
    self.changes.publish(to: "") { sequence in
      .with {
        $0.sequence = sequence
        $0.kind = .updated
        $0.product = product
        $0.changeTime = changeTime
      }
    }
    return .with { $0.product = product }
  }

  func deleteProduct(
    request: Storefront_V1_DeleteProductRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_DeleteProductResponse {
    throw RPCError(code: .unimplemented, message: "the baseline has no store")
  }

  /// Streams every change published after it starts, until the client cancels.
  func watchProducts(
    request: Storefront_V1_WatchProductsRequest,
    response: RPCWriter<Storefront_V1_ProductChange>,
    context: ServerContext
  ) async throws {
    try await self.changes.subscribe(to: "") { subscription in
      try await response.write(contentsOf: subscription.messages)
    }
  }

  /// Streams `chunk_size` (64 KiB by default) chunks of zeros up to the size that the image
  /// id names in bytes ("img_1048576"), after a metadata message.
  func downloadProductImage(
    request: Storefront_V1_DownloadProductImageRequest,
    response: RPCWriter<Storefront_V1_DownloadProductImageResponse>,
    context: ServerContext
  ) async throws {
    let size = Int64(request.imageID.split(separator: "_").last ?? "") ?? 1 << 20
    let chunkSize = request.chunkSize > 0 ? Int(request.chunkSize) : 64 * 1024
    try await response.write(
      .with {
        $0.metadata = .with {
          $0.imageID = request.imageID
          $0.sizeBytes = size
        }
      }
    )
    let chunk = Storefront_V1_DownloadProductImageResponse.with {
      $0.chunk = Data(count: chunkSize)
    }
    var sent = request.offset
    while sent < size {
      if Int64(chunkSize) <= size - sent {
        try await response.write(chunk)
      } else {
        try await response.write(.with { $0.chunk = Data(count: Int(size - sent)) })
      }
      sent += Int64(chunkSize)
    }
  }

  func importProducts(
    request: RPCAsyncSequence<Storefront_V1_ImportProductsRequest, any Error>,
    context: ServerContext
  ) async throws -> Storefront_V1_ImportProductsResponse {
    var count: Int64 = 0
    for try await _ in request { count += 1 }
    return .with { $0.created = count }
  }

  func followChat(
    request: Storefront_V1_FollowChatRequest,
    response: RPCWriter<Storefront_V1_ChatMessage>,
    context: ServerContext
  ) async throws {
    throw RPCError(code: .unimplemented, message: "the baseline's chat is Chat only")
  }

  func sendChatMessage(
    request: Storefront_V1_SendChatMessageRequest,
    context: ServerContext
  ) async throws -> Storefront_V1_SendChatMessageResponse {
    throw RPCError(code: .unimplemented, message: "the baseline's chat is Chat only")
  }
}
