import Foundation
import Histogram
import Synchronization

/// When a run measures: operations that start before `measureFrom` (the warm-up) are not
/// counted, and none start after `end`.
struct BenchWindow: Sendable {
  let start: ContinuousClock.Instant
  let measureFrom: ContinuousClock.Instant
  let end: ContinuousClock.Instant

  init(warmup: Duration, duration: Duration) {
    self.start = .now
    self.measureFrom = self.start + warmup
    self.end = self.measureFrom + duration
  }

  var isOver: Bool { ContinuousClock.now >= self.end }
}

/// Collects one run's operations, latencies (an HdrHistogram in microseconds), units (products,
/// bytes, deliveries) and errors, from any number of tasks.
final class BenchRecorder: Sendable {
  private struct State {
    var latencies = Histogram<UInt64>(
      highestTrackableValue: Self.slowest,
      numberOfSignificantValueDigits: .three
    )
    var operations = 0
    var units: Int64 = 0
    var errors = 0
    var firstError: String?
    var lastFinish: ContinuousClock.Instant?

    /// Ten minutes, in microseconds: slower operations are recorded as this.
    static let slowest: UInt64 = 600_000_000
  }

  let window: BenchWindow
  private let state = Mutex(State())
  private let started = Atomic<Int>(0)

  init(window: BenchWindow) {
    self.window = window
  }

  /// Whether another operation may start when at most `limit` may (0: no limit).
  func mayStart(limit: Int) -> Bool {
    limit == 0 || self.started.wrappingAdd(1, ordering: .relaxed).oldValue < limit
  }

  /// Records an operation that started at `start` and has just finished.
  func recordOperation(startedAt start: ContinuousClock.Instant) {
    let now = ContinuousClock.now
    guard start >= self.window.measureFrom, now <= self.window.end else { return }
    let micros = UInt64(max(0, (now - start) / .microseconds(1)))
    self.state.withLock { state in
      state.operations += 1
      _ = state.latencies.record(min(micros, State.slowest))
      state.lastFinish = now
    }
  }

  /// Records an operation without timing it: a chat member's whole stream, or with
  /// `inWindowOnly`, a watch scenario's write, counted only if it finished in the window.
  func recordUntimedOperation(inWindowOnly: Bool = false) {
    let now = ContinuousClock.now
    guard !inWindowOnly || (now >= self.window.measureFrom && now <= self.window.end) else {
      return
    }
    self.state.withLock { $0.operations += 1 }
  }

  /// Records a latency measured elsewhere (a chat message from its send to its delivery).
  func recordLatency(_ latency: Duration, units: Int64 = 1) {
    let now = ContinuousClock.now
    guard now >= self.window.measureFrom, now <= self.window.end else { return }
    let micros = UInt64(max(0, latency / .microseconds(1)))
    self.state.withLock { state in
      state.units += units
      _ = state.latencies.record(min(micros, State.slowest))
      state.lastFinish = now
    }
  }

  /// Records units (products, bytes) that arrived or left now.
  func recordUnits(_ units: Int) {
    let now = ContinuousClock.now
    guard now >= self.window.measureFrom, now <= self.window.end else { return }
    self.state.withLock { $0.units += Int64(units) }
  }

  /// Records a failed operation; the first error's text is kept for the report. Errors in the
  /// warm-up are not counted, unless `inWarmup`: a chat member, watcher or writer that fails
  /// is gone for the whole run, so its failure counts whenever it happens.
  func recordError(_ error: any Error, inWarmup: Bool = false) {
    guard inWarmup || ContinuousClock.now >= self.window.measureFrom else { return }
    self.state.withLock { state in
      state.errors += 1
      if state.firstError == nil { state.firstError = ErrorReport(error).text }
    }
  }

  /// The run's figures; `seconds` is the measured window, or, for a run that ended early
  /// (a fixed count of operations), the time up to its last operation.
  func result(scenario: String, label: String, unit: String) -> BenchResult {
    self.state.withLock { state in
      let last = min(state.lastFinish ?? self.window.end, self.window.end)
      let measured = max(last - self.window.measureFrom, .milliseconds(1))
      let seconds =
        Double(measured.components.seconds)
        + Double(measured.components.attoseconds) / 1e18
      func milliseconds(_ percentile: Double) -> Double {
        Double(state.latencies.valueAtPercentile(percentile)) / 1_000
      }
      return BenchResult(
        scenario: scenario,
        label: label,
        seconds: seconds,
        operations: state.operations,
        operationsPerSecond: Double(state.operations) / seconds,
        unit: unit,
        units: state.units,
        unitsPerSecond: Double(state.units) / seconds,
        errors: state.errors,
        firstError: state.firstError,
        // No latency rather than a zero when nothing was timed: a listing of the whole
        // catalogue that outlasts the window sends products but never completes.
        latencyMilliseconds: state.latencies.totalCount == 0
          ? nil
          : BenchResult.Latency(
            p50: milliseconds(50),
            p90: milliseconds(90),
            p99: milliseconds(99),
            p999: milliseconds(99.9),
            max: Double(state.latencies.max) / 1_000
          )
      )
    }
  }
}

/// What `storefront bench` prints: one scenario against one server.
struct BenchResult: Codable, Sendable {
  struct Latency: Codable, Sendable {
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double
  }

  var scenario: String
  var label: String
  var seconds: Double
  var operations: Int
  var operationsPerSecond: Double
  /// What `units` counts: calls, products, bytes or deliveries.
  var unit: String
  var units: Int64
  var unitsPerSecond: Double
  var errors: Int
  var firstError: String?
  /// Percentiles of the operations timed (chat, watch: of the deliveries); nil (left out of
  /// the JSON) when none completed in the window.
  var latencyMilliseconds: Latency?

  /// One line for people.
  var summary: String {
    func fixed(_ value: Double, _ digits: Int = 3) -> String {
      String(format: "%.\(digits)f", value)
    }
    let rate =
      self.unit == "bytes"
      ? "\(fixed(self.unitsPerSecond / 1_048_576, 1)) MiB/s"
      : "\(fixed(self.unitsPerSecond, 0)) \(self.unit)/s"
    let latency =
      self.latencyMilliseconds.map { latency in
        "latency ms p50 \(fixed(latency.p50)) p90 \(fixed(latency.p90)) "
          + "p99 \(fixed(latency.p99)) p99.9 \(fixed(latency.p999)) max \(fixed(latency.max))"
      } ?? "no latency: no call completed in the window"
    return "\(self.label) \(self.scenario): \(rate) (\(self.operations) operations in "
      + "\(fixed(self.seconds, 1)) s, \(fixed(self.operationsPerSecond, 0))/s), \(latency), "
      + "\(self.errors) errors" + (self.firstError.map { " (first: \($0))" } ?? "")
  }
}
