import Synchronization

/// A value that tasks share, behind a lock.
public final class Locked<Value: Sendable>: Sendable {
  private let mutex: Mutex<Value>

  public init(_ value: Value) {
    self.mutex = Mutex(value)
  }

  /// Runs `body` with the value, changed in place.
  public func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
    self.mutex.withLock { body(&$0) }
  }

  /// The value now; setting it replaces it.
  public var value: Value {
    get { self.withLock { $0 } }
    set { self.withLock { $0 = newValue } }
  }
}
