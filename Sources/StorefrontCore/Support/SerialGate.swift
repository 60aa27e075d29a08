/// Runs async critical sections one at a time, in the order they arrive.
///
/// An actor alone does not serialise work that suspends: a second call enters while the first
/// awaits. The gate keeps callers waiting until the section before them has finished.
public actor SerialGate {
  private var busy = false
  private var waiting: [CheckedContinuation<Void, Never>] = []

  public init() {}

  /// Runs `body` once every section that arrived before it has finished.
  public func run<Result: Sendable>(
    _ body: @Sendable () async throws -> Result
  ) async throws -> Result {
    if self.busy {
      await withCheckedContinuation { self.waiting.append($0) }
    } else {
      self.busy = true
    }
    defer {
      if self.waiting.isEmpty {
        self.busy = false
      } else {
        self.waiting.removeFirst().resume()
      }
    }
    return try await body()
  }
}
