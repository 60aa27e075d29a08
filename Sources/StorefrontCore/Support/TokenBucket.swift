/// A token-bucket rate limiter: `burst` tokens, refilled at `ratePerSecond`.
struct TokenBucket {
  private let ratePerSecond: Double
  private let burst: Double
  private var tokens: Double
  private var last: ContinuousClock.Instant

  init(ratePerSecond: Double, burst: Int) {
    self.ratePerSecond = max(0, ratePerSecond)
    self.burst = Double(max(1, burst))
    self.tokens = self.burst
    self.last = .now
  }

  /// Takes a token if one is left.
  mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
    guard now > self.last else { return self.spend() }
    let seconds = self.last.duration(to: now).fractionalSeconds
    self.tokens = min(self.burst, self.tokens + seconds * self.ratePerSecond)
    self.last = now
    return self.spend()
  }

  private mutating func spend() -> Bool {
    guard self.tokens >= 1 else { return false }
    self.tokens -= 1
    return true
  }
}
