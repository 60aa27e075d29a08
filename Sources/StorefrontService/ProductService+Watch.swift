public import GRPCCore
public import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// The response header that carries the sequence the stream starts after (`since_sequence`,
  /// or the head for a live watch): where to resume if nothing arrives before it breaks.
  public static let changeSequenceKey = "x-change-sequence"

  /// Streams product changes after `since_sequence` (or live ones only); the response header
  /// `x-change-sequence` carries the sequence the stream starts after.
  /// Errors: INVALID_ARGUMENT, OUT_OF_RANGE, RESOURCE_EXHAUSTED (fell behind the log),
  /// CANCELLED.
  public func watchProducts(
    request: ServerRequest<Storefront_V1_WatchProductsRequest>,
    context: ServerContext
  ) async throws -> StreamingServerResponse<Storefront_V1_ProductChange> {
    let message = request.message
    let watch = try await ChangeWatch(
      category: message.category.isEmpty ? nil : message.category,
      ids: message.ids,
      sinceSequence: message.hasSinceSequence ? message.sinceSequence : nil,
      changes: self.changes,
      batchSize: self.configuration.watchBatchSize
    )
    return StreamingServerResponse(metadata: [Self.changeSequenceKey: "\(watch.start)"]) {
      writer in
      try await context.cancellingWithRPC(unlessDraining: self.drain) {
        for try await change in watch {
          try await writer.write(Storefront_V1_ProductChange(change))
        }
      }
      return [:]
    }
  }

  /// The same stream as ``watchProducts(request:context:)`` without the response header;
  /// the server calls that one, this is for direct callers of the simple protocol.
  public func watchProducts(
    request: Storefront_V1_WatchProductsRequest,
    response: RPCWriter<Storefront_V1_ProductChange>,
    context: ServerContext
  ) async throws {
    let answer = try await self.watchProducts(
      request: ServerRequest(metadata: [:], message: request),
      context: context
    )
    _ = try await answer.accepted.get().producer(response)
  }
}

extension Storefront_V1_ProductChange {
  /// The wire form of a change.
  init(_ change: ProductChange) {
    self.init()
    self.sequence = change.sequence
    self.kind =
      switch change.kind {
      case .created: .created
      case .updated: .updated
      case .deleted: .deleted
      }
    self.product = Storefront_V1_Product(change.product)
    self.changeTime = Google_Protobuf_Timestamp(date: change.changeTime)
  }
}
