import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf
import Synchronization

/// Marks the messages of one run with their send time, so that whoever receives one can time
/// its delivery, and messages of earlier runs (chat history, other writers) are not timed.
struct BenchStamp: Sendable {
  let origin: ContinuousClock.Instant
  private let run = "bench-\(UInt32.random(in: 0 ... UInt32.max))"

  init(origin: ContinuousClock.Instant) {
    self.origin = origin
  }

  /// Text that carries the time of this call.
  func now() -> String {
    "\(self.run) \(Int64((ContinuousClock.now - self.origin) / .nanoseconds(1)))"
  }

  /// How long ago `text` was made by `now()` of this run; nil for any other text.
  func age(of text: String) -> Duration? {
    let words = text.split(separator: " ")
    guard words.count == 2, words[0] == self.run, let nanos = Int64(words[1]) else { return nil }
    return ContinuousClock.now - self.origin - .nanoseconds(nanos)
  }

  /// Runs `send` `rate` times a second, paced from now (not closed loop), until `end`.
  static func paced(
    rate: Double,
    until end: ContinuousClock.Instant,
    _ send: () async throws -> Void
  ) async throws {
    let interval = Duration.seconds(1 / rate)
    var next = ContinuousClock.now
    while ContinuousClock.now < end {
      try await send()
      next += interval
      try await Task.sleep(until: max(next, .now))
    }
  }
}

/// Counts the watchers whose streams have started (or failed), so that writers start once
/// all have.
private final class BenchWatchers: Sendable {
  private let started = Atomic<Int>(0)
  let total: Int

  init(total: Int) {
    self.total = total
  }

  func start() {
    self.started.add(1, ordering: .releasing)
  }

  /// Waits until every watcher has started, or `end`.
  func waitForAll(until end: ContinuousClock.Instant) async throws {
    while self.started.load(ordering: .acquiring) < self.total && ContinuousClock.now < end {
      try await Task.sleep(for: .milliseconds(5))
    }
  }
}

extension BenchRunner {
  /// Watch: `plan.concurrency` watchers each hold a live WatchProducts stream of the whole
  /// catalogue; once all have their response headers, `writers` writers each update a product
  /// of their own (the catalogue's second, third, ...) `rate` times a second, paced, until the
  /// window ends: each UpdateProduct writes the time of its send into the product's
  /// description. Every watcher times every change of this run from its write's send to its
  /// delivery: deliveries/s and delivery latency. Each acknowledged write in the window counts
  /// as one operation.
  func watch(writers: Int, rate: Double) async throws -> BenchResult {
    // Not the first product: the upload scenario attaches its images there, and a change
    // carries the product's whole image list.
    let catalogue = try await self.catalogueIDs(limit: max(writers, 1) + 1)
    let productIDs = catalogue.count > 1 ? Array(catalogue.dropFirst()) : catalogue
    let recorder = BenchRecorder(
      window: BenchWindow(warmup: self.plan.warmup, duration: self.plan.duration)
    )
    let stamp = BenchStamp(origin: recorder.window.start)
    let watchers = BenchWatchers(total: self.plan.concurrency)
    let metadata = self.plan.metadata
    let options = self.callOptions
    await withDiscardingTaskGroup { group in
      group.addTask {
        await withDiscardingTaskGroup { streams in
          for watcher in 0 ..< watchers.total {
            let client = self.clients[watcher % self.clients.count]
            streams.addTask {
              do {
                try await client.watchProducts(
                  Storefront_V1_WatchProductsRequest(),
                  metadata: metadata,
                  options: options
                ) { response in
                  watchers.start()
                  for try await change in response.messages {
                    if let latency = stamp.age(of: change.product.description_p) {
                      recorder.recordLatency(latency)
                    }
                  }
                }
              } catch {
                // The streams are cancelled when the window is over; anything before is an
                // error, kept even in the warm-up (a watcher that never started would leave
                // the run with nothing measured and no reason). A failed watcher no longer
                // holds the writers back.
                if !recorder.window.isOver { recorder.recordError(error, inWarmup: true) }
                watchers.start()
              }
            }
          }
          // Changes still in flight at the end are not counted; a watch never ends by itself.
          try? await Task.sleep(until: recorder.window.end + .milliseconds(500))
          streams.cancelAll()
        }
      }
      for writer in 0 ..< writers {
        let client = self.clients[writer % self.clients.count]
        let productID = productIDs[writer % productIDs.count]
        group.addTask {
          do {
            try await watchers.waitForAll(until: recorder.window.end)
            try await BenchStamp.paced(rate: rate, until: recorder.window.end) {
              let request = Storefront_V1_UpdateProductRequest.with {
                $0.product.id = productID
                $0.product.description_p = stamp.now()
                $0.updateMask.paths = ["description"]
              }
              _ = try await client.updateProduct(request, metadata: metadata, options: options)
              recorder.recordUntimedOperation(inWindowOnly: true)
            }
          } catch {
            recorder.recordError(error, inWarmup: true)
          }
        }
      }
    }
    return recorder.result(scenario: "watch", label: self.label, unit: "deliveries")
  }
}
