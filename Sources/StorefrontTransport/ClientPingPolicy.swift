import NIOCore

/// Decides whether a client pings too often, as grpc-go's server does (its keepalive
/// enforcement policy): a ping is a strike only when it comes sooner than the minimum interval
/// after the previous one with no HEADERS or DATA in between, so the BDP pings that grpc-go and
/// C-core clients send while data flows never count. More than two strikes and the server
/// answers GOAWAY ENHANCE_YOUR_CALM ("too_many_pings").
struct ClientPingPolicy {
  /// The shortest interval between pings, while calls are open (or always, with
  /// `allowWithoutCalls`).
  let minInterval: TimeAmount
  /// Whether a connection without calls may ping as often as one with calls; if not, it may
  /// ping once in two hours (gRFC A8).
  let allowWithoutCalls: Bool
  /// Strikes tolerated; one more closes the connection.
  let maxStrikes = 2

  private(set) var strikes = 0
  private var lastPing: NIODeadline?
  private var transferSinceLastPing = false

  init(minInterval: TimeAmount, allowWithoutCalls: Bool) {
    self.minInterval = minInterval
    self.allowWithoutCalls = allowWithoutCalls
  }

  /// HEADERS or DATA went either way: the next ping is not a strike, whenever it comes.
  mutating func transferred() {
    self.transferSinceLastPing = true
  }

  /// A ping (not an ack) arrived at `now`; whether the client has now pinged too often.
  mutating func receivedPing(at now: NIODeadline, hasOpenCalls: Bool) -> Bool {
    defer {
      self.lastPing = now
      self.transferSinceLastPing = false
    }
    if self.transferSinceLastPing {
      self.strikes = 0
      return false
    }
    guard let lastPing = self.lastPing else { return false }
    let interval = hasOpenCalls || self.allowWithoutCalls ? self.minInterval : .hours(2)
    if lastPing + interval > now {
      self.strikes += 1
    }
    return self.strikes > self.maxStrikes
  }
}
