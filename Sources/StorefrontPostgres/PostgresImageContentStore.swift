public import Foundation
import Logging
import NIOCore
import PostgresNIO
public import StorefrontCore

/// Image bytes in the database every replica shares, by content hash, in chunks of
/// ``chunkSize`` bytes: an upload is staged in a local temporary file and hashed as it
/// arrives (as with files), then copied into the database a chunk at a time and recorded;
/// a download reads the chunks it needs, so neither holds a whole image in memory.
///
/// Placing, unreferencing and removing leftovers run under one advisory lock, across every
/// replica: content found already stored cannot be deleted before its new record exists.
public struct PostgresImageContentStore: ImageContentStore {
  /// The largest chunk stored in one row.
  public static let chunkSize = 256 * 1024
  /// The advisory lock key that serialises placing content with removing it.
  static let contentLock: Int64 = 0x5354_4f52_4546_494d  // "STOREFIM"

  let store: PostgresStore
  /// Where uploads are staged on this replica.
  public let stagingDirectory: URL

  /// - Parameters:
  ///   - store: the database.
  ///   - stagingDirectory: a local directory for uploads in progress (created if needed).
  public init(store: PostgresStore, stagingDirectory: URL) throws {
    self.store = store
    self.stagingDirectory = stagingDirectory
    try FileManager.default.createDirectory(
      at: stagingDirectory,
      withIntermediateDirectories: true
    )
  }

  public func stage(maxBytes: Int64) throws -> StagedImage {
    try StagedImage(
      url: self.stagingDirectory.appendingPathComponent(Identifier.make(prefix: "upload")),
      maxBytes: maxBytes
    )
  }

  public func place<Result: Sendable>(
    _ uploads: [FinishedUpload],
    thenRecord record: @escaping @Sendable () async throws -> Result
  ) async throws -> Result {
    let content = self
    return try await Task {
      try await content.underContentLock { connection, logger in
        var placed: [String] = []
        do {
          for upload in uploads where try await content.copy(upload, over: connection) {
            placed.append(upload.sha256)
          }
          return try await record()
        } catch {
          _ = try? await Self.deleteUnreferenced(placed, over: connection, logger: logger)
          throw error
        }
      }
    }.value
  }

  public func open(sha256: String) async throws -> any ImageContentReader {
    let logger = self.store.logger
    let size = try await self.store.withConnection { connection in
      try await connection.rows(
        "SELECT size_bytes FROM image_content WHERE sha256 = \(sha256)",
        logger: logger
      ).first?["size_bytes"].decode(Int64.self)
    }
    guard let size else {
      throw StorefrontError(code: .internalError, message: "the image's content is missing")
    }
    return PostgresImageReader(store: self.store, sha256: sha256, sizeBytes: size)
  }

  public func removeUnreferenced(
    _ unreference: @escaping @Sendable () async throws -> [String]
  ) async throws {
    let content = self
    try await Task {
      try await content.underContentLock { connection, logger in
        _ = try await Self.deleteUnreferenced(
          try await unreference(),
          over: connection,
          logger: logger
        )
      }
    }.value
  }

  /// Deletes every staged file of this replica, and every stored content no image record
  /// references (the database's own view, not `referenced`, which may be older: another
  /// replica may have recorded since).
  @discardableResult
  public func removeLeftovers(keeping referenced: Set<String>) async throws -> Int {
    let removed = StagedImage.removeAll(in: self.stagingDirectory)
    let deleted = try await self.underContentLock { connection, logger in
      try await connection.rows(
        """
        DELETE FROM image_content WHERE NOT EXISTS
          (SELECT 1 FROM image WHERE image.sha256 = image_content.sha256)
        RETURNING sha256
        """,
        logger: logger
      ).count
    }
    return removed + deleted
  }

  /// Runs `body` holding the content lock, on the connection that holds it.
  private func underContentLock<T: Sendable>(
    _ body: @Sendable (PostgresConnection, Logger) async throws -> T
  ) async throws -> T {
    let logger = self.store.logger
    return try await self.store.withConnection { connection in
      try await connection.run("SELECT pg_advisory_lock(\(Self.contentLock))", logger: logger)
      do {
        let result = try await body(connection, logger)
        try await connection.run("SELECT pg_advisory_unlock(\(Self.contentLock))", logger: logger)
        return result
      } catch {
        _ = try? await connection.run(
          "SELECT pg_advisory_unlock(\(Self.contentLock))",
          logger: logger
        )
        throw error
      }
    }
  }

  /// Copies one staged upload into the database in one transaction, a chunk at a time;
  /// false when the same content was already stored.
  private func copy(
    _ upload: FinishedUpload,
    over connection: PostgresConnection
  ) async throws
    -> Bool
  {
    let logger = self.store.logger
    let exists = try await connection.rows(
      "SELECT 1 AS found FROM image_content WHERE sha256 = \(upload.sha256)",
      logger: logger
    )
    guard exists.isEmpty else {
      unlink(upload.url.path)
      return false
    }
    let handle: FileHandle
    do {
      handle = try FileHandle(forReadingFrom: upload.url)
    } catch {
      throw StorefrontError(code: .unavailable, message: "could not read the upload", cause: error)
    }
    defer { try? handle.close() }
    try await connection.run("BEGIN", logger: logger)
    do {
      try await connection.run(
        """
        INSERT INTO image_content (sha256, size_bytes, placed_time)
        VALUES (\(upload.sha256), \(upload.sizeBytes), \(PostgresStore.databaseTime(Date())))
        """,
        logger: logger
      )
      var offset: Int64 = 0
      while offset < upload.sizeBytes {
        let data: Data
        do {
          data = try handle.read(upToCount: Self.chunkSize) ?? Data()
        } catch {
          throw StorefrontError(
            code: .unavailable,
            message: "could not read the upload",
            cause: error
          )
        }
        guard !data.isEmpty else { break }
        try await connection.run(
          """
          INSERT INTO image_chunk (sha256, offset_bytes, data)
          VALUES (\(upload.sha256), \(offset), \(ByteBuffer(bytes: data)))
          """,
          logger: logger
        )
        offset += Int64(data.count)
      }
      guard offset == upload.sizeBytes else {
        throw StorefrontError(code: .unavailable, message: "the upload's file was cut short")
      }
      try await connection.run("COMMIT", logger: logger)
    } catch {
      _ = try? await connection.run("ROLLBACK", logger: logger)
      throw PostgresStore.translate(error)
    }
    unlink(upload.url.path)
    return true
  }

  /// Deletes the content of `hashes` that no image record references.
  private static func deleteUnreferenced(
    _ hashes: [String],
    over connection: PostgresConnection,
    logger: Logger
  ) async throws -> Int {
    guard !hashes.isEmpty else { return 0 }
    return try await connection.rows(
      """
      DELETE FROM image_content WHERE sha256 = ANY(\(hashes)) AND NOT EXISTS
        (SELECT 1 FROM image WHERE image.sha256 = image_content.sha256)
      RETURNING sha256
      """,
      logger: logger
    ).count
  }
}

/// Reads stored content a few chunks at a time.
final class PostgresImageReader: ImageContentReader {
  private let store: PostgresStore
  private let sha256: String
  private let sizeBytes: Int64

  init(store: PostgresStore, sha256: String, sizeBytes: Int64) {
    self.store = store
    self.sha256 = sha256
    self.sizeBytes = sizeBytes
  }

  func read(at offset: Int64, count: Int) async throws -> Data {
    let end = min(self.sizeBytes, offset + Int64(max(0, count)))
    guard offset < end else { return Data() }
    let chunk = Int64(PostgresImageContentStore.chunkSize)
    let sha256 = self.sha256
    let logger = self.store.logger
    let rows = try await self.store.withConnection { connection in
      try await connection.rows(
        """
        SELECT offset_bytes, data FROM image_chunk
        WHERE sha256 = \(sha256) AND offset_bytes > \(offset - chunk) AND offset_bytes < \(end)
        ORDER BY offset_bytes
        """,
        logger: logger
      )
    }
    var data = Data(capacity: Int(end - offset))
    for row in rows {
      let start = try row["offset_bytes"].decode(Int64.self)
      var bytes = try row["data"].decode(ByteBuffer.self)
      let skip = Int(max(0, offset - start))
      let take = Int(min(Int64(bytes.readableBytes), end - start)) - skip
      guard take > 0, let slice = bytes.readSlice(length: skip + take) else { continue }
      data.append(contentsOf: slice.readableBytesView.dropFirst(skip))
    }
    guard data.count == Int(end - offset) else {
      throw StorefrontError(code: .internalError, message: "the image's content is incomplete")
    }
    return data
  }

  func close() {}
}
