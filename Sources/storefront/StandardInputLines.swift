import Foundation

/// Lines of standard input, read on a thread of their own so that a blocking read never
/// holds one of the few threads of Swift's concurrency pool.
enum StandardInputLines {
  /// The non-empty lines typed, until standard input ends.
  static func stream() -> AsyncStream<String> {
    AsyncStream { continuation in
      let thread = Thread {
        while let line = readLine() {
          if !line.isEmpty { continuation.yield(line) }
        }
        continuation.finish()
      }
      thread.start()
    }
  }
}
