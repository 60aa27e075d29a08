public import Foundation

/// Reads a stored image a piece at a time, so a download never holds the whole file.
///
/// Opened once; the open descriptor keeps the file readable even if its product is deleted
/// meanwhile. Not `Sendable`: one download belongs to one task.
public final class ImageBlobReader: ImageContentReader {
  private var descriptor: Int32

  init(url: URL) throws(StorefrontError) {
    self.descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
    if self.descriptor < 0 {
      throw StorefrontError(
        code: .internalError,
        message: "the image's file cannot be opened",
        cause: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
      )
    }
  }

  deinit {
    self.close()
  }

  /// Up to `count` bytes from `offset`; fewer only at the end of the file.
  /// - Throws: ``StorefrontError`` `internalError` when the file cannot be read.
  public func read(at offset: Int64, count: Int) throws(StorefrontError) -> Data {
    var data = Data(count: count)
    var filled = 0
    while filled < count {
      let got = data.withUnsafeMutableBytes { buffer in
        pread(
          self.descriptor,
          buffer.baseAddress! + filled,
          count - filled,
          off_t(offset) + off_t(filled)
        )
      }
      if got < 0 {
        if errno == EINTR { continue }
        throw StorefrontError(
          code: .internalError,
          message: "the image's file cannot be read",
          cause: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        )
      }
      if got == 0 { break }
      filled += got
    }
    data.count = filled
    return data
  }

  /// Closes the file; safe to call more than once.
  public func close() {
    if self.descriptor >= 0 {
      Foundation.close(self.descriptor)
      self.descriptor = -1
    }
  }
}

extension ImageBlobStore {
  /// Opens the stored image with content hash `sha256` for reading.
  /// - Throws: ``StorefrontError`` `internalError` when the file is missing: a record
  ///   without its file is the server's fault, never the client's.
  public func open(sha256: String) throws(StorefrontError) -> any ImageContentReader {
    try ImageBlobReader(url: self.url(forSHA256: sha256))
  }
}
