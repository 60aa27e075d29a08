public import CoreMetrics
public import GRPCCore
import StorefrontAPI
import Synchronization

/// A message whose payload bytes are worth counting: image chunks, up or down.
protocol CarriesPayloadBytes {
  var payloadBytes: Int { get }
}

extension Storefront_V1_ImageRequest: CarriesPayloadBytes {
  var payloadBytes: Int {
    if case .chunk(let bytes) = self.data { bytes.count } else { 0 }
  }
}

extension Storefront_V1_DownloadProductImageResponse: CarriesPayloadBytes {
  var payloadBytes: Int {
    if case .chunk(let bytes) = self.data { bytes.count } else { 0 }
  }
}

/// Measures every RPC: a count and a latency histogram by method and status code, the RPCs in
/// flight by method, and the image bytes uploaded and downloaded. Installed outermost, so it
/// sees the status the client gets; handlers hold no metric code.
public struct MetricsInterceptor: ServerInterceptor {
  /// Metric names, as Prometheus shows them.
  public enum Name {
    public static let handled = "storefront_rpc_handled_total"
    public static let duration = "storefront_rpc_duration_seconds"
    public static let inFlight = "storefront_rpc_in_flight"
    public static let uploadBytes = "storefront_image_upload_bytes_total"
    public static let downloadBytes = "storefront_image_download_bytes_total"
  }

  private let handles: MetricHandles
  private let uploaded: Counter
  private let downloaded: Counter
  /// Every call in flight, by method, for the drain's log line.
  let calls = CallsInFlight()

  public init(factory: any MetricsFactory) {
    self.handles = MetricHandles(factory: factory)
    self.uploaded = Counter(label: Name.uploadBytes, factory: factory)
    self.downloaded = Counter(label: Name.downloadBytes, factory: factory)
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = context.descriptor.fullyQualifiedMethod
    let start = ContinuousClock.now
    let handles = self.handles
    let inFlight = handles.inFlight(method: method)
    inFlight.increment()
    let calls = self.calls
    calls.begin(method)
    let finish = RPCCompletion { error in
      inFlight.decrement()
      calls.end(method)
      let outcome = handles.outcome(method: method, code: error?.code)
      outcome.handled.increment()
      outcome.duration.recordSeconds((ContinuousClock.now - start) / .seconds(1))
    }

    var request = request
    if Input.self is any CarriesPayloadBytes.Type {
      let uploaded = self.uploaded
      request.messages = RPCAsyncSequence(
        wrapping: CountingSequence(base: request.messages) { uploaded.increment(by: $0) }
      )
    }
    let response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      finish(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
      throw error
    }
    if case .failure(let error) = response.accepted {
      finish(error)
      return response
    }
    let counted = Output.self is any CarriesPayloadBytes.Type
    let downloaded = self.downloaded
    return response.aroundProducer { writer, producer in
      do {
        let writer =
          counted
          ? RPCWriter(wrapping: CountingWriter(base: writer) { downloaded.increment(by: $0) })
          : writer
        let trailers = try await producer(writer)
        finish(nil)
        return trailers
      } catch {
        finish(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
        throw error
      }
    }
  }
}

/// The metric handles of each method and outcome, made once: the factory's look-up of a
/// label and its dimensions costs more than the RPC's own work for a small call.
final class MetricHandles: Sendable {
  struct Outcome: Sendable {
    let handled: Counter
    let duration: Timer
  }

  private struct Key: Hashable {
    let method: String
    let code: RPCError.Code?
  }

  private let factory: any MetricsFactory
  private let meters = Mutex<[String: Meter]>([:])
  private let outcomes = Mutex<[Key: Outcome]>([:])

  init(factory: any MetricsFactory) {
    self.factory = factory
  }

  /// The RPCs of `method` in flight.
  func inFlight(method: String) -> Meter {
    Self.memoized(in: self.meters, method) {
      Meter(
        label: MetricsInterceptor.Name.inFlight,
        dimensions: [("method", method)],
        factory: self.factory
      )
    }
  }

  /// The count and latency of `method`'s RPCs that ended with `code` (nil: ok).
  func outcome(method: String, code: RPCError.Code?) -> Outcome {
    Self.memoized(in: self.outcomes, Key(method: method, code: code)) {
      let dimensions = [("method", method), ("code", RPCError.Code.grpcName(of: code))]
      return Outcome(
        handled: Counter(
          label: MetricsInterceptor.Name.handled,
          dimensions: dimensions,
          factory: self.factory
        ),
        duration: Timer(
          label: MetricsInterceptor.Name.duration,
          dimensions: dimensions,
          factory: self.factory
        )
      )
    }
  }

  /// The handle kept for `key`, made by `make` the first time: outside the lock, so a
  /// racing maker's handle may be dropped in favour of the one kept first.
  private static func memoized<Key: Hashable & Sendable, Value: Sendable>(
    in table: borrowing Mutex<[Key: Value]>,
    _ key: Key,
    make: () -> Value
  ) -> Value {
    if let value = table.withLock({ $0[key] }) { return value }
    let made = make()
    return table.withLock { table in
      if let existing = table[key] { return existing }
      table[key] = made
      return made
    }
  }
}

/// The request messages, counting the payload bytes of each as it passes.
private struct CountingSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable
where Base.Element: Sendable {
  typealias Element = Base.Element
  let base: Base
  let count: @Sendable (Int) -> Void

  struct AsyncIterator: AsyncIteratorProtocol {
    var base: Base.AsyncIterator
    let count: @Sendable (Int) -> Void

    mutating func next() async throws -> Element? {
      let element = try await self.base.next()
      if let bytes = (element as? any CarriesPayloadBytes)?.payloadBytes, bytes > 0 {
        self.count(bytes)
      }
      return element
    }
  }

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(base: self.base.makeAsyncIterator(), count: self.count)
  }
}

/// The response writer, counting the payload bytes of each message written.
private struct CountingWriter<Element: Sendable>: RPCWriterProtocol {
  let base: RPCWriter<Element>
  let count: @Sendable (Int) -> Void

  func write(_ element: Element) async throws {
    try await self.base.write(element)
    if let bytes = (element as? any CarriesPayloadBytes)?.payloadBytes, bytes > 0 {
      self.count(bytes)
    }
  }

  func write(contentsOf elements: some Sequence<Element>) async throws {
    for element in elements {
      try await self.write(element)
    }
  }
}
