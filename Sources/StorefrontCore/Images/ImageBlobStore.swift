public import Foundation

/// A directory of image files named by their SHA-256, with a staging area for uploads.
///
/// Layout: `blobs/ab/abcdef…` for stored images, `staging/` for uploads in progress. A file
/// reaches `blobs/` only by an atomic rename after it has been written and synced, so a
/// crash leaves either the whole file or none.
public struct ImageBlobStore: ImageContentStore {
  /// The root directory.
  public let root: URL
  /// Serialises placing blobs with removing them.
  private let gate = SerialGate()

  var blobsDirectory: URL { self.root.appendingPathComponent("blobs", isDirectory: true) }
  var stagingDirectory: URL { self.root.appendingPathComponent("staging", isDirectory: true) }

  /// Opens (and creates) the store at `root`.
  /// - Throws: when the directories cannot be created.
  public init(root: URL) throws {
    self.root = root
    let manager = FileManager.default
    try manager.createDirectory(at: self.blobsDirectory, withIntermediateDirectories: true)
    try manager.createDirectory(at: self.stagingDirectory, withIntermediateDirectories: true)
  }

  /// Where the image with content hash `sha256` lives.
  public func url(forSHA256 sha256: String) -> URL {
    let shard = String(sha256.prefix(2))
    return self.blobsDirectory
      .appendingPathComponent(shard, isDirectory: true)
      .appendingPathComponent(sha256)
  }

  /// Starts a staged upload: a new temporary file in the staging area.
  /// - Throws: when the file cannot be created.
  public func stage(maxBytes: Int64) throws -> StagedImage {
    let url = self.stagingDirectory.appendingPathComponent(Identifier.make(prefix: "upload"))
    return try StagedImage(url: url, maxBytes: maxBytes)
  }

  /// Moves finished uploads into place under their hashes by an atomic rename each, then
  /// runs `record`; see ``ImageContentStore/place(_:thenRecord:)``.
  public func place<Result: Sendable>(
    _ uploads: [FinishedUpload],
    thenRecord record: @escaping @Sendable () async throws -> Result
  ) async throws -> Result {
    let blobs = self
    return try await uncancelled {
      try await blobs.gate.run {
        var placed: [String] = []
        do {
          for upload in uploads where try blobs.move(upload) {
            placed.append(upload.sha256)
          }
          return try await record()
        } catch {
          blobs.remove(sha256: placed)
          throw error
        }
      }
    }
  }

  /// Runs `unreference`, then deletes the files of the hashes it returns; see
  /// ``ImageContentStore/removeUnreferenced(_:)``.
  public func removeUnreferenced(
    _ unreference: @escaping @Sendable () async throws -> [String]
  ) async throws {
    let blobs = self
    try await uncancelled {
      try await blobs.gate.run {
        blobs.remove(sha256: try await unreference())
      }
    }
  }

  /// Moves one upload into place; false when the same content was already stored.
  private func move(_ upload: FinishedUpload) throws -> Bool {
    let target = self.url(forSHA256: upload.sha256)
    let manager = FileManager.default
    if manager.fileExists(atPath: target.path) {
      unlink(upload.url.path)
      return false
    }
    let shard = target.deletingLastPathComponent()
    if !manager.fileExists(atPath: shard.path) {
      try Self.check(
        (try? manager.createDirectory(at: shard, withIntermediateDirectories: true)) != nil,
        "could not create the image directory"
      )
      try Self.check(FileDescriptorSync.syncDirectory(at: self.blobsDirectory), "could not sync")
    }
    try Self.check(rename(upload.url.path, target.path) == 0, "could not store the image")
    guard FileDescriptorSync.syncDirectory(at: shard) else {
      unlink(target.path)
      throw Self.unavailable("could not sync the image directory")
    }
    return true
  }

  private static func check(_ succeeded: Bool, _ message: String) throws(StorefrontError) {
    if !succeeded { throw Self.unavailable(message) }
  }

  private static func unavailable(_ message: String) -> StorefrontError {
    let code = errno
    return StorefrontError(
      code: code == ENOSPC ? .resourceExhausted : .unavailable,
      message: code == ENOSPC ? "the server's disk is full" : message,
      cause: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
    )
  }

  /// Deletes the files of `hashes`.
  func remove(sha256 hashes: some Sequence<String>) {
    for hash in hashes {
      try? FileManager.default.removeItem(at: self.url(forSHA256: hash))
    }
  }

  /// Deletes every staged file and every blob not in `referenced`: leftovers of uploads
  /// interrupted by a crash. Only for a store no other process uses.
  /// - Returns: how many files were removed.
  @discardableResult
  public func removeLeftovers(keeping referenced: Set<String>) -> Int {
    let manager = FileManager.default
    var removed = StagedImage.removeAll(in: self.stagingDirectory)
    let shards =
      (try? manager.contentsOfDirectory(at: self.blobsDirectory, includingPropertiesForKeys: nil))
      ?? []
    for shard in shards {
      for url in (try? manager.contentsOfDirectory(at: shard, includingPropertiesForKeys: nil))
        ?? []
      {
        if !referenced.contains(url.lastPathComponent), (try? manager.removeItem(at: url)) != nil {
          removed += 1
        }
      }
    }
    return removed
  }

  /// The names of the files in the staging area.
  public func stagedFiles() -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: self.stagingDirectory.path)) ?? []
  }
}
