import StorefrontCore
import Synchronization
import Testing

/// Lines appended from several tasks.
final class SharedLog: Sendable {
  private let lines = Mutex<[String]>([])

  func append(_ line: String) {
    self.lines.withLock { $0.append(line) }
  }

  var entries: [String] { self.lines.withLock { $0 } }
}

@Suite("SerialGate")
struct SerialGateTests {
  @Test("sections that suspend still run one at a time, in arrival order")
  func oneAtATime() async throws {
    let gate = SerialGate()
    let log = SharedLog()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0 ..< 5 {
        group.addTask {
          try await gate.run {
            log.append("start \(index)")
            try await Task.sleep(for: .milliseconds(5))
            log.append("end \(index)")
          }
        }
        // Let each caller reach the gate before the next one starts.
        try await Task.sleep(for: .milliseconds(1))
      }
      try await group.waitForAll()
    }
    let entries = log.entries
    #expect(entries.count == 10)
    for pair in stride(from: 0, to: entries.count, by: 2) {
      let start = entries[pair].split(separator: " ")[1]
      #expect(entries[pair + 1] == "end \(start)")
    }
  }

  @Test("a section that throws lets the next one in")
  func throwingSectionReleases() async throws {
    struct Failed: Error {}
    let gate = SerialGate()
    await #expect(throws: Failed.self) {
      try await gate.run { throw Failed() }
    }
    let value = try await gate.run { 42 }
    #expect(value == 42)
  }
}
