import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

/// How one bench run loads its server.
struct BenchPlan: Sendable {
  var connections: Int
  /// Workers, each running one operation after another (chat: members).
  var concurrency: Int
  var warmup: Duration
  var duration: Duration
  /// Operations after which the run stops; 0: none, the run lasts `duration`.
  var count: Int
  /// The metadata of every call.
  var metadata: Metadata
}

/// One operation of a closed loop: which client, which worker, which of its iterations, and
/// where units go.
struct BenchStep: Sendable {
  let client: BenchClient
  let worker: Int
  let iteration: Int
  let recorder: BenchRecorder
}

/// Runs the scenarios of `storefront bench` on a set of connected clients.
struct BenchRunner: Sendable {
  let plan: BenchPlan
  let clients: [BenchClient]
  let label: String

  /// Options of every call: no deadline beyond the run's own length.
  var callOptions: CallOptions {
    var options = CallOptions.defaults
    options.timeout = self.plan.warmup + self.plan.duration + .seconds(60)
    return options
  }

  /// Runs `operation` in a closed loop on `plan.concurrency` workers: each worker starts its
  /// next operation as soon as its last one finishes, until the window ends or `plan.count`
  /// operations have started.
  func closedLoop(
    scenario: String,
    unit: String,
    _ operation: @escaping @Sendable (BenchStep) async throws -> Void
  ) async -> BenchResult {
    let recorder = BenchRecorder(
      window: BenchWindow(warmup: self.plan.warmup, duration: self.plan.duration)
    )
    let count = self.plan.count
    await withDiscardingTaskGroup { group in
      for worker in 0 ..< self.plan.concurrency {
        let client = self.clients[worker % self.clients.count]
        group.addTask {
          var iteration = 0
          while !recorder.window.isOver {
            guard recorder.mayStart(limit: count) else { break }
            let start = ContinuousClock.now
            do {
              try await operation(
                BenchStep(client: client, worker: worker, iteration: iteration, recorder: recorder)
              )
              recorder.recordOperation(startedAt: start)
            } catch {
              recorder.recordError(error)
            }
            iteration += 1
          }
        }
      }
    }
    var result = recorder.result(scenario: scenario, label: self.label, unit: unit)
    if unit == "calls" {
      result.units = Int64(result.operations)
      result.unitsPerSecond = result.operationsPerSecond
    }
    return result
  }

  /// GetProduct on ids drawn at random from the first `ids` of the catalogue (0: all).
  func get(ids: Int) async throws -> BenchResult {
    let requests = try await self.catalogueIDs(limit: ids).map { id in
      Storefront_V1_ProductRequest.with { $0.id = id }
    }
    let metadata = self.plan.metadata
    let options = self.callOptions
    return await self.closedLoop(scenario: "get", unit: "calls") { step in
      // A cheap pseudo-random pick per call (no system call).
      var mixed = UInt64(truncatingIfNeeded: step.worker &* 1_000_003 &+ step.iteration)
      mixed = (mixed ^ (mixed >> 31)) &* 0x9E37_79B9_7F4A_7C15
      mixed ^= mixed >> 29
      let request = requests[Int(mixed % UInt64(requests.count))]
      _ = try await step.client.getProduct(request, metadata: metadata, options: options)
    }
  }

  /// ListProducts streams of `pageSize` products (0: the whole catalogue): products/s.
  func list(pageSize: Int) async throws -> BenchResult {
    let request = Storefront_V1_ProductRequest.with { $0.pageSize = Int32(clamping: pageSize) }
    let metadata = self.plan.metadata
    let options = self.callOptions
    return await self.closedLoop(scenario: "list", unit: "products") { step in
      try await step.client.listProducts(request, metadata: metadata, options: options) {
        response in
        var batch = 0
        for try await _ in response.messages {
          batch += 1
          if batch == 256 {
            step.recorder.recordUnits(batch)
            batch = 0
            // The window is over: stop reading (the stream is cancelled).
            if step.recorder.window.isOver { return }
          }
        }
        step.recorder.recordUnits(batch)
      }
    }
  }

  /// The ids of the first `limit` products of the catalogue, in id order (0: all).
  /// - Throws: when the catalogue is empty: no scenario has anything to work on.
  func catalogueIDs(limit: Int) async throws -> [String] {
    let request = Storefront_V1_ProductRequest.with { $0.pageSize = Int32(clamping: limit) }
    let ids = try await self.clients.first?.listProducts(
      request,
      metadata: self.plan.metadata,
      options: self.callOptions
    ) { response in
      var ids: [String] = []
      for try await message in response.messages { ids.append(message.product.id) }
      return ids
    }
    guard let ids, !ids.isEmpty else { throw CommandFailure("the catalogue is empty") }
    return ids
  }
}
