import Testing

@testable import StorefrontCore

@Suite("TokenBucket")
struct TokenBucketTests {
  @Test("a full bucket allows a burst, then refuses")
  func burst() throws {
    var bucket = TokenBucket(ratePerSecond: 1, burst: 3)
    let now = ContinuousClock.now
    #expect(bucket.take(now: now) == true)
    #expect(bucket.take(now: now) == true)
    #expect(bucket.take(now: now) == true)
    #expect(bucket.take(now: now) == false)
    #expect(bucket.take(now: now) == false)
  }

  @Test("tokens come back at the refill rate")
  func refills() throws {
    var bucket = TokenBucket(ratePerSecond: 2, burst: 2)
    let start = ContinuousClock.now
    #expect(bucket.take(now: start) == true)
    #expect(bucket.take(now: start) == true)
    #expect(bucket.take(now: start) == false)
    // 0.3 s at 2 per second: 0.6 of a token.
    #expect(bucket.take(now: start.advanced(by: .milliseconds(300))) == false)
    // 0.6 s: 1.2 tokens, one taken.
    #expect(bucket.take(now: start.advanced(by: .milliseconds(600))) == true)
    #expect(bucket.take(now: start.advanced(by: .milliseconds(600))) == false)
    // 1.1 s: 0.2 left plus 1.0 more.
    #expect(bucket.take(now: start.advanced(by: .milliseconds(1_100))) == true)
    #expect(bucket.take(now: start.advanced(by: .milliseconds(1_100))) == false)
  }

  @Test("a long pause refills no more than the burst")
  func refillIsCapped() throws {
    var bucket = TokenBucket(ratePerSecond: 10, burst: 3)
    let later = ContinuousClock.now.advanced(by: .seconds(3_600))
    #expect(bucket.take(now: later) == true)
    #expect(bucket.take(now: later) == true)
    #expect(bucket.take(now: later) == true)
    #expect(bucket.take(now: later) == false)
  }

  @Test("a rate of zero never refills")
  func zeroRate() throws {
    var bucket = TokenBucket(ratePerSecond: 0, burst: 1)
    let start = ContinuousClock.now
    #expect(bucket.take(now: start) == true)
    #expect(bucket.take(now: start.advanced(by: .seconds(3_600))) == false)
  }

  @Test("a burst below one still allows one message")
  func minimumBurst() throws {
    var bucket = TokenBucket(ratePerSecond: 0, burst: 0)
    let now = ContinuousClock.now
    #expect(bucket.take(now: now) == true)
    #expect(bucket.take(now: now) == false)
  }

  @Test("an instant earlier than the last one refills nothing and takes nothing extra")
  func clockGoingBackwards() throws {
    var bucket = TokenBucket(ratePerSecond: 1, burst: 2)
    let later = ContinuousClock.now.advanced(by: .seconds(10))
    #expect(bucket.take(now: later) == true)
    #expect(bucket.take(now: later.advanced(by: .seconds(-5))) == true)
    #expect(bucket.take(now: later.advanced(by: .seconds(-5))) == false)
  }
}
