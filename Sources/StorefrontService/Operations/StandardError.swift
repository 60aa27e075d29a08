#if canImport(Glibc)
import Glibc
#endif

/// The server's standard error, where its logs go.
public enum StandardError {
  /// Writes `line` in one system call (more only if the kernel takes part of it); a line that
  /// cannot be written (the reader went away) is dropped: logging must never stop the server.
  @Sendable
  public static func write(_ line: String) {
    var line = line
    line.withUTF8 { bytes in
      var offset = 0
      while offset < bytes.count {
        let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          return
        }
        offset += written
      }
    }
  }
}
