/// The log of committed product writes: every write of a ``ProductStore`` appends its change
/// in the same transaction, so the log and the catalogue never disagree.
public protocol ProductChangeStore: Sendable {
  /// The sequence of the newest change; 0 when there has been none.
  func latestChangeSequence() async throws -> Int64

  /// Up to `limit` changes after `sequence` that match `filter`, oldest first.
  ///
  /// - Returns: the changes, and the sequence the next call should start after (past the
  ///   changes the filter skipped, so a sparse filter does not rescan them).
  /// - Throws: ``StorefrontError`` `outOfRange` when changes after `sequence` were pruned,
  ///   or when `sequence` was never handed out.
  func changes(
    after sequence: Int64,
    matching filter: ChangeFilter,
    limit: Int
  ) async throws -> (changes: [ProductChange], through: Int64)

  /// Returns once a change after `sequence` has been committed.
  /// - Throws: `CancellationError` when the calling task is cancelled first;
  ///   ``StorefrontError`` `unavailable` when the store no longer serves waits (shutdown).
  func waitForChange(after sequence: Int64) async throws
}
