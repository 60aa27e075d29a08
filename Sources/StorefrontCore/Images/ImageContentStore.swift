public import Foundation

/// Where the bytes of images live, by content hash: files in a directory
/// (``ImageBlobStore``), or a database every replica shares.
///
/// Whatever the store, an upload is staged in a local temporary file (``StagedImage``) and
/// hashed as it arrives; ``place(_:thenRecord:)`` then stores the finished uploads together
/// with their records, all or nothing.
public protocol ImageContentStore: Sendable {
  /// Starts a staged upload: a new temporary file.
  /// - Throws: when the file cannot be created.
  func stage(maxBytes: Int64) throws -> StagedImage

  /// Stores finished uploads under their hashes, then runs `record` to record them, as one
  /// step: cancellation does not interrupt it, and it never interleaves with
  /// ``removeUnreferenced(_:)``, so content found already stored cannot be deleted before its
  /// new record exists. When storing or `record` fails, what this call stored is removed
  /// again and nothing is left behind.
  /// - Returns: what `record` returns.
  /// - Throws: ``StorefrontError`` `unavailable` or `resourceExhausted` when the content
  ///   cannot be stored; whatever `record` throws.
  func place<Result: Sendable>(
    _ uploads: [FinishedUpload],
    thenRecord record: @escaping @Sendable () async throws -> Result
  ) async throws -> Result

  /// Opens the stored content with hash `sha256` for reading.
  /// - Throws: ``StorefrontError`` `internalError` when it is missing: a record without its
  ///   content is the server's fault, never the client's.
  func open(sha256: String) async throws -> any ImageContentReader

  /// Runs `unreference`, which deletes records and returns the hashes no record references
  /// any more, then deletes their content; serialised with ``place(_:thenRecord:)`` and not
  /// interrupted by cancellation.
  /// - Throws: whatever `unreference` throws; then no content is deleted.
  func removeUnreferenced(
    _ unreference: @escaping @Sendable () async throws -> [String]
  ) async throws

  /// Deletes staged files and stored content not in `referenced`: leftovers of uploads
  /// interrupted by a crash.
  /// - Returns: how many were removed.
  @discardableResult
  func removeLeftovers(keeping referenced: Set<String>) async throws -> Int
}

/// Reads stored content a piece at a time, so a download never holds a whole image. One
/// download belongs to one task.
public protocol ImageContentReader: AnyObject {
  /// Up to `count` bytes from `offset`; fewer only at the end of the content.
  /// - Throws: ``StorefrontError`` `internalError` when the content cannot be read.
  func read(at offset: Int64, count: Int) async throws -> Data

  /// Releases what the reader holds; safe to call more than once.
  func close()
}

/// A staged upload, synced, closed and hashed, ready to be placed. The ``StagedImage`` still
/// owns the file: keep it alive until ``ImageContentStore/place(_:thenRecord:)`` returns, as
/// dropping it deletes the file.
public struct FinishedUpload: Sendable {
  /// The staged file.
  public let url: URL
  /// The content's SHA-256, in lower-case hexadecimal.
  public let sha256: String
  /// The content's length.
  public let sizeBytes: Int64
}

extension ImageContentStore {
  /// Syncs and closes a staged upload so that it can be placed.
  /// - Throws: ``StorefrontError`` `unavailable` when the file cannot be synced.
  public func finish(_ staged: StagedImage) throws -> FinishedUpload {
    let digest = try staged.digest()
    return FinishedUpload(url: staged.url, sha256: digest.sha256, sizeBytes: digest.sizeBytes)
  }
}
