import GRPCCore
import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension ProductService {
  /// The response header that carries the sequence the stream starts after (`since_sequence`,
  /// or the head for a live watch): where to resume if nothing arrives before it breaks.
  public static let changeSequenceKey = "x-change-sequence"

  /// WatchProducts: checks the request, then answers a stream of the changes after
  /// `since_sequence` (or after the head, for live changes only).
  ///
  /// The change log is the only queue: the stream reads it a batch at a time and waits for
  /// the next commit when it has caught up, so a watcher holds one batch at most however slow
  /// its client is. A watcher that falls so far behind that the log prunes what it has not
  /// read yet is cut off with RESOURCE_EXHAUSTED.
  ///
  /// Errors: INVALID_ARGUMENT, OUT_OF_RANGE, RESOURCE_EXHAUSTED, CANCELLED.
  func watchProducts(
    _ request: Storefront_V1_WatchProductsRequest,
    context: ServerContext
  ) async throws -> StreamingServerResponse<Storefront_V1_ProductChange> {
    let filter = try Self.changeFilter(request)
    let head = try await self.changes.latestChangeSequence()
    let start: Int64
    if request.hasSinceSequence {
      guard request.sinceSequence >= 0 else {
        throw StorefrontError.invalidArgument(field: "since_sequence", "must not be negative")
      }
      start = request.sinceSequence
      // Out of range answers at once, before the stream starts.
      _ = try await self.changes.changes(after: start, matching: filter, limit: 1)
    } else {
      start = head
    }
    return StreamingServerResponse(metadata: [Self.changeSequenceKey: "\(start)"]) { writer in
      try await context.cancellingWithRPC(unlessDraining: self.drain) {
        try await self.streamChanges(after: start, matching: filter, into: writer)
      }
      return [:]
    }
  }

  private func streamChanges(
    after start: Int64,
    matching filter: ChangeFilter,
    into writer: RPCWriter<Storefront_V1_ProductChange>
  ) async throws {
    var position = start
    while true {
      try Task.checkCancellation()
      let page: (changes: [ProductChange], through: Int64)
      do {
        page = try await self.changes.changes(
          after: position,
          matching: filter,
          limit: self.configuration.watchBatchSize
        )
      } catch let error as StorefrontError where error.code == .outOfRange {
        throw StorefrontError(
          code: .resourceExhausted,
          message: """
            the watcher fell behind the change log, which no longer keeps the changes after \
            \(position); watch again with since_sequence = \(position) to check, or list the \
            catalogue afresh
            """
        )
      }
      for change in page.changes {
        try await writer.write(Storefront_V1_ProductChange(change))
      }
      if page.through == position {
        try await self.changes.waitForChange(after: position)
      }
      position = page.through
    }
  }

  private static func changeFilter(
    _ request: Storefront_V1_WatchProductsRequest
  ) throws(StorefrontError) -> ChangeFilter {
    guard request.ids.count <= ChangeFilter.maxIDs else {
      throw StorefrontError.invalidArgument(
        field: "ids",
        "at most \(ChangeFilter.maxIDs) ids per watch"
      )
    }
    for (index, id) in request.ids.enumerated() {
      _ = try Self.requireID(id, field: "ids[\(index)]")
    }
    return ChangeFilter(
      category: request.category.isEmpty ? nil : request.category,
      ids: Set(request.ids)
    )
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
