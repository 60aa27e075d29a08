import Crypto
public import Foundation

/// An image being uploaded: bytes are appended to a temporary file and hashed as they arrive,
/// so nothing is held whole in memory.
///
/// Not `Sendable`: one upload belongs to one task.
public final class StagedImage {
  /// Deletes every staged file in `directory`: what uploads cut off by a crash left.
  /// - Returns: how many files were removed.
  public static func removeAll(in directory: URL) -> Int {
    let manager = FileManager.default
    var removed = 0
    for url in (try? manager.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil))
      ?? []
    {
      if (try? manager.removeItem(at: url)) != nil { removed += 1 }
    }
    return removed
  }

  /// What a finished upload is.
  public struct Digest: Hashable, Sendable {
    public var sha256: String
    public var sizeBytes: Int64
    public var format: ImageFormat?
  }

  let url: URL
  private let maxBytes: Int64
  private var descriptor: Int32
  private var hasher = SHA256()
  private var prefix: [UInt8] = []
  private var finished: Digest?
  /// Bytes written so far.
  public private(set) var sizeBytes: Int64 = 0

  /// Creates the temporary file at `url`, which must not exist yet; it is deleted when the
  /// upload is discarded or dropped.
  /// - Throws: ``StorefrontError`` `unavailable` when the file cannot be created.
  public init(url: URL, maxBytes: Int64) throws {
    self.url = url
    self.maxBytes = maxBytes
    self.descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    if self.descriptor < 0 {
      throw StorefrontError(
        code: .unavailable,
        message: "could not start the upload",
        cause: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
      )
    }
  }

  deinit {
    self.discard()
  }

  /// The format recognised from the bytes so far, once enough of them have arrived.
  public var sniffedFormat: ImageFormat? { ImageFormat(sniffing: self.prefix) }

  /// Appends `bytes`.
  /// - Throws: ``StorefrontError`` `resourceExhausted` past the size limit, `unavailable` when
  ///   the disk refuses the write.
  public func append(_ bytes: some Collection<UInt8>) throws(StorefrontError) {
    guard !bytes.isEmpty else { return }
    guard self.sizeBytes + Int64(bytes.count) <= self.maxBytes else {
      throw StorefrontError(
        code: .resourceExhausted,
        message: "image is larger than the limit of \(self.maxBytes) bytes"
      )
    }
    if self.prefix.count < ImageFormat.sniffLength {
      self.prefix.append(contentsOf: bytes.prefix(ImageFormat.sniffLength - self.prefix.count))
    }
    // Data and arrays are hashed and written where they are; other collections are copied.
    let written =
      bytes.withContiguousStorageIfAvailable(self.hashAndWrite)
      ?? Array(bytes).withUnsafeBufferPointer(self.hashAndWrite)
    try written.get()
    self.sizeBytes += Int64(bytes.count)
  }

  /// Hashes `bytes` and writes them to the file.
  private func hashAndWrite(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<Void, StorefrontError> {
    Result { () throws(StorefrontError) in try self.hashAndWrite(UnsafeRawBufferPointer(bytes)) }
  }

  private func hashAndWrite(_ buffer: UnsafeRawBufferPointer) throws(StorefrontError) {
    self.hasher.update(bufferPointer: buffer)
    var offset = 0
    while offset < buffer.count {
      let written = write(self.descriptor, buffer.baseAddress! + offset, buffer.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        let code = errno
        throw StorefrontError(
          code: code == ENOSPC ? .resourceExhausted : .unavailable,
          message: code == ENOSPC ? "the server's disk is full" : "could not write the image",
          cause: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        )
      }
      offset += written
    }
  }

  /// Syncs and closes the file and returns its hash; idempotent.
  func finish() throws -> Digest {
    if let finished = self.finished { return finished }
    if fsync(self.descriptor) != 0 {
      throw StorefrontError(
        code: .unavailable,
        message: "could not sync the image",
        cause: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
      )
    }
    close(self.descriptor)
    self.descriptor = -1
    let hex = self.hasher.finalize().map { byte in
      let text = String(byte, radix: 16)
      return byte < 16 ? "0" + text : text
    }.joined()
    let digest = Digest(sha256: hex, sizeBytes: self.sizeBytes, format: self.sniffedFormat)
    self.finished = digest
    return digest
  }

  /// The hash of everything appended, computed once.
  public func digest() throws -> Digest {
    try self.finish()
  }

  /// Closes and deletes the temporary file; safe to call more than once.
  public func discard() {
    if self.descriptor >= 0 {
      close(self.descriptor)
      self.descriptor = -1
    }
    unlink(self.url.path)
  }
}

enum FileDescriptorSync {
  /// Syncs a directory so that a rename into it survives a crash.
  /// - Returns: false when the directory cannot be opened or synced (`errno` says why).
  static func syncDirectory(at url: URL) -> Bool {
    let descriptor = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return fsync(descriptor) == 0
  }
}
