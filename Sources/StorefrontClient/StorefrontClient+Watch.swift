import GRPCCore
public import StorefrontAPI
import SwiftProtobuf
import Synchronization

extension StorefrontClient {
  /// What ``watchChanges(_:since:reconnect:onStart:_:)`` watches.
  public struct ChangeFilter: Sendable, Hashable {
    /// Only changes of products in this category, before or after the change (all when
    /// empty).
    public var category: String
    /// Only changes of these products (all when empty; at most 100).
    public var ids: [String]

    public init(category: String = "", ids: [String] = []) {
      self.category = category
      self.ids = ids
    }
  }

  /// How a watch reconnects when its stream breaks with `UNAVAILABLE` (a server that drains
  /// for a restart, a lost connection).
  public struct Reconnect: Sendable, Hashable {
    /// How many tries in a row, without a change between them, before the watch gives up
    /// (1: it never reconnects).
    public var maxAttempts: Int
    /// The wait before the first retry; it doubles up to ``maxBackoff``.
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    public init(
      maxAttempts: Int = 10,
      initialBackoff: Duration = .milliseconds(200),
      maxBackoff: Duration = .seconds(5)
    ) {
      self.maxAttempts = maxAttempts
      self.initialBackoff = initialBackoff
      self.maxBackoff = maxBackoff
    }
  }

  /// The key of the response header that says after which sequence a watch starts.
  public static let changeSequenceKey = "x-change-sequence"

  /// Calls `onChange` with every committed product write matching `filter`, in commit
  /// order, each once, until `onChange` throws or the task is cancelled. When the stream
  /// breaks with `UNAVAILABLE` it reconnects by itself and resumes after the last sequence
  /// it saw (or the one the first stream started at), so nothing is missed or repeated.
  /// - Parameters:
  ///   - since: first the changes after this sequence, then live ones; nil: live ones only.
  ///   - onStart: called once, with the sequence the watch starts after.
  /// - Throws: ``StorefrontClientError`` when the server refuses the watch (e.g.
  ///   `OUT_OF_RANGE` for a `since` the log no longer holds) or the reconnects run out.
  public func watchChanges(
    _ filter: ChangeFilter = ChangeFilter(),
    since: Int64? = nil,
    reconnect: Reconnect = Reconnect(),
    onStart: @escaping @Sendable (Int64) -> Void = { _ in },
    _ onChange: @escaping @Sendable (Storefront_V1_ProductChange) async throws -> Void
  ) async throws {
    let progress = WatchProgress(last: since)
    while true {
      let request = Storefront_V1_WatchProductsRequest.with {
        $0.category = filter.category
        $0.ids = filter.ids
        if let last = progress.last { $0.sinceSequence = last }
      }
      do {
        try await self.call {
          try await self.products.watchProducts(request) { response in
            let start = response.metadata[stringValues: Self.changeSequenceKey]
              .first { _ in true }.flatMap { Int64($0) }
            if let start, progress.start(at: start) {
              onStart(start)
            }
            for try await change in response.messages {
              progress.saw(change.sequence)
              try await onChange(change)
            }
          }
        }
        // The server ends a watch well only when it shuts down.
        throw StorefrontClientError(code: .unavailable, message: "the watch ended")
      } catch let error as StorefrontClientError
        where error.code == .unavailable && !Task.isCancelled
      {
        let failures = progress.failed()
        guard failures < reconnect.maxAttempts else { throw error }
        let backoff = min(
          reconnect.initialBackoff * (1 << min(failures - 1, 20)),
          reconnect.maxBackoff
        )
        try await Task.sleep(for: backoff)
      }
    }
  }
}

/// Where a watch is: the last sequence it saw, and its failures since the last change.
private final class WatchProgress: Sendable {
  private struct State {
    var last: Int64?
    var started = false
    var failures = 0
  }

  private let state: Mutex<State>

  init(last: Int64?) {
    self.state = Mutex(State(last: last))
  }

  /// The sequence to resume after; nil before the first stream has started.
  var last: Int64? {
    self.state.withLock { $0.last }
  }

  /// A stream started after `sequence`; true the first time.
  func start(at sequence: Int64) -> Bool {
    self.state.withLock { state in
      if state.last == nil { state.last = sequence }
      defer { state.started = true }
      return !state.started
    }
  }

  /// A change came: the watch is healthy again.
  func saw(_ sequence: Int64) {
    self.state.withLock {
      $0.last = sequence
      $0.failures = 0
    }
  }

  /// A stream broke; answers the failures in a row.
  func failed() -> Int {
    self.state.withLock {
      $0.failures += 1
      return $0.failures
    }
  }
}
