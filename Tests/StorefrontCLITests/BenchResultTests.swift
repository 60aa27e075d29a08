import Foundation
import Testing

@testable import storefront

@Suite("Bench result")
struct BenchResultTests {
  @Test("a run whose calls never completed has no latency rather than a zero")
  func noCompletedCall() throws {
    let recorder = BenchRecorder(window: BenchWindow(warmup: .zero, duration: .seconds(60)))
    // A listing that streamed products but did not finish in the window.
    recorder.recordUnits(256)
    let result = recorder.result(scenario: "list", label: "server", unit: "products")
    #expect(result.units == 256)
    #expect(result.operations == 0)
    #expect(result.latencyMilliseconds == nil)
    #expect(result.summary.contains("no call completed"))
    #expect(!result.summary.contains("p99"))
    let json = String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
    #expect(!json.contains("latencyMilliseconds"))
  }

  @Test("a completed call is timed")
  func completedCall() async throws {
    let recorder = BenchRecorder(window: BenchWindow(warmup: .zero, duration: .seconds(60)))
    let start = ContinuousClock.now
    try await Task.sleep(for: .milliseconds(5))
    recorder.recordOperation(startedAt: start)
    let result = recorder.result(scenario: "get", label: "server", unit: "calls")
    let latency = try #require(result.latencyMilliseconds)
    #expect(latency.p99 >= 4)
    #expect(result.summary.contains("p99 "))
  }
}
