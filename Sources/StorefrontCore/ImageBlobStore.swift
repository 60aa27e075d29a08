public import Foundation

/// A directory of image files named by their SHA-256, with a staging area for uploads.
///
/// Layout: `blobs/ab/abcdef…` for stored images, `staging/` for uploads in progress. A file
/// reaches `blobs/` only by an atomic rename after it has been written and synced, so a
/// crash leaves either the whole file or none.
public struct ImageBlobStore: Sendable {
  /// The root directory.
  public let root: URL

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

  /// Moves a finished upload into place under its hash. If the same content is already
  /// stored, the staged copy is dropped.
  /// - Throws: when the file cannot be synced or moved; the staged file is removed either way.
  public func commit(_ staged: StagedImage) throws {
    defer { staged.discard() }
    let digest = try staged.finish()
    let target = self.url(forSHA256: digest.sha256)
    let manager = FileManager.default
    if manager.fileExists(atPath: target.path) {
      return
    }
    let shard = target.deletingLastPathComponent()
    try manager.createDirectory(at: shard, withIntermediateDirectories: true)
    if rename(staged.url.path, target.path) != 0 {
      throw StorefrontError(
        code: .unavailable,
        message: "could not store the image",
        cause: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
      )
    }
    FileDescriptorSync.syncDirectory(at: shard)
  }

  /// Deletes the files of `hashes`.
  public func remove(sha256 hashes: some Sequence<String>) {
    for hash in hashes {
      try? FileManager.default.removeItem(at: self.url(forSHA256: hash))
    }
  }

  /// Deletes every staged file and every blob not in `referenced`: leftovers of uploads
  /// interrupted by a crash.
  /// - Returns: how many files were removed.
  @discardableResult
  public func removeLeftovers(keeping referenced: Set<String>) -> Int {
    let manager = FileManager.default
    var removed = 0
    for url
      in (try? manager.contentsOfDirectory(
        at: self.stagingDirectory,
        includingPropertiesForKeys: nil
      )) ?? []
    {
      if (try? manager.removeItem(at: url)) != nil { removed += 1 }
    }
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
