import Synchronization

/// The calls in flight by method, counted by ``MetricsInterceptor``: what a draining server
/// reports it is waiting for.
final class CallsInFlight: Sendable {
  private let counts = Mutex<[String: Int]>([:])

  /// A call of `method` has begun.
  func begin(_ method: String) {
    self.counts.withLock { $0[method, default: 0] += 1 }
  }

  /// A call of `method` has ended.
  func end(_ method: String) {
    self.counts.withLock { counts in
      let left = (counts[method] ?? 1) - 1
      counts[method] = left > 0 ? left : nil
    }
  }

  /// The methods with calls in flight, with how many each.
  var snapshot: [String: Int] {
    self.counts.withLock { $0 }
  }
}
