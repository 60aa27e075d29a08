/// Runs `body` to its end even when the calling task is already cancelled: clean-up and
/// commit steps that must not stop halfway (a LEAVE notice after the client went away, files
/// placed together with their records).
///
/// Swift has no structured way to shield work from its task's cancellation, so `body` runs
/// in a task of its own, which does not inherit it; the caller still waits for it, so the
/// work stays bounded by the caller's lifetime.
public func uncancelled<Result: Sendable>(
  _ body: @escaping @Sendable () async throws -> Result
) async throws -> Result {
  try await Task { try await body() }.value
}

/// ``uncancelled(_:)`` for work that cannot fail.
public func uncancelled<Result: Sendable>(
  _ body: @escaping @Sendable () async -> Result
) async -> Result {
  await Task { await body() }.value
}
