import StorefrontCore
import Testing

@Suite("ChangeSignal")
struct ChangeSignalTests {
  @Test("a wait returns once the head passes its sequence, not before")
  func wakesPastSequence() async throws {
    let signal = ChangeSignal(head: 5)
    try await signal.wait(after: 4)
    let waiter = Task { try await signal.wait(after: 5) }
    while signal.waiterCount == 0 { await Task.yield() }
    signal.advance(to: 5)
    #expect(signal.waiterCount == 1)
    signal.advance(to: 6)
    try await waiter.value
    #expect(signal.waiterCount == 0)
    #expect(signal.head == 6)
  }

  @Test("a cancelled wait throws CancellationError and leaves no waiter behind")
  func cancelledWait() async throws {
    let signal = ChangeSignal(head: 0)
    let waiter = Task { try await signal.wait(after: 0) }
    while signal.waiterCount == 0 { await Task.yield() }
    waiter.cancel()
    await #expect(throws: CancellationError.self) { try await waiter.value }
    #expect(signal.waiterCount == 0)
  }

  @Test("close ends every wait, now and later, with unavailable")
  func closeEndsWaits() async throws {
    let signal = ChangeSignal(head: 0)
    let waiter = Task { try await signal.wait(after: 0) }
    while signal.waiterCount == 0 { await Task.yield() }
    signal.close()
    let now = await #expect(throws: StorefrontError.self) { try await waiter.value }
    #expect(now?.code == .unavailable)
    let later = await #expect(throws: StorefrontError.self) { try await signal.wait(after: 0) }
    #expect(later?.code == .unavailable)
  }
}
