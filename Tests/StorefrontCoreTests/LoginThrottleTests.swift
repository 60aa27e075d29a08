import Foundation
import StorefrontTestKit
import Testing

@testable import StorefrontCore

@Suite("LoginThrottle")
struct LoginThrottleTests {
  static let configuration = LoginThrottle.Configuration(
    freeFailures: 3,
    baseLockout: .seconds(1),
    maxLockout: .seconds(8),
    forgetAfter: .seconds(60),
    capacity: 4
  )

  @Test("free failures, then lockouts that double up to the cap")
  func lockouts() {
    let throttle = LoginThrottle(configuration: Self.configuration)
    let start = ContinuousClock.now
    for _ in 0 ..< 3 {
      #expect(throttle.recordFailure(for: "alice", now: start) == nil)
    }
    #expect(throttle.waitTime(for: "alice", now: start) == nil)
    var now = start
    for expected in [1, 2, 4, 8, 8] {
      #expect(throttle.recordFailure(for: "alice", now: now) == .seconds(expected))
      #expect(throttle.waitTime(for: "alice", now: now) == .seconds(expected))
      now = now.advanced(by: .seconds(expected))
      #expect(throttle.waitTime(for: "alice", now: now) == nil)
    }
    #expect(throttle.waitTime(for: "bob", now: now) == nil)
  }

  @Test("a success clears a username's failures; a quiet spell forgets them")
  func clearing() {
    let throttle = LoginThrottle(configuration: Self.configuration)
    let start = ContinuousClock.now
    for _ in 0 ..< 4 { throttle.recordFailure(for: "alice", now: start) }
    #expect(throttle.waitTime(for: "alice", now: start) != nil)
    throttle.recordSuccess(for: "alice")
    #expect(throttle.waitTime(for: "alice", now: start) == nil)
    #expect(throttle.recordFailure(for: "alice", now: start) == nil)

    for _ in 0 ..< 4 { throttle.recordFailure(for: "bob", now: start) }
    let later = start.advanced(by: .seconds(61))
    #expect(throttle.waitTime(for: "bob", now: later) == nil)
    #expect(throttle.recordFailure(for: "bob", now: later) == nil)
  }

  @Test("memory is bounded: a flood of names keeps the locked ones and forgets the rest")
  func bounded() {
    let throttle = LoginThrottle(configuration: Self.configuration)
    let start = ContinuousClock.now
    for _ in 0 ..< 4 { throttle.recordFailure(for: "victim", now: start) }
    for index in 0 ..< 1_000 {
      throttle.recordFailure(for: "made-up-\(index)", now: start.advanced(by: .milliseconds(index)))
      #expect(throttle.count <= Self.configuration.capacity)
    }
    #expect(throttle.waitTime(for: "victim", now: start.advanced(by: .milliseconds(500))) != nil)
  }
}
