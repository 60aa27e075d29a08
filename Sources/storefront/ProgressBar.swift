import Foundation
import Synchronization

/// A one-line progress bar on standard error, drawn only when it is a terminal.
final class ProgressBar: Sendable {
  private let total: Int64
  private let isTerminal = isatty(STDERR_FILENO) == 1
  private let done = Mutex<(bytes: Int64, lastPercent: Int)>((0, -1))

  init(total: Int64) {
    self.total = max(1, total)
  }

  func advance(by bytes: Int64) {
    guard self.isTerminal else { return }
    let line: String? = self.done.withLock { state in
      state.bytes += bytes
      let percent = Int(state.bytes * 100 / self.total)
      guard percent != state.lastPercent else { return nil }
      state.lastPercent = percent
      let filled = percent * 30 / 100
      let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
      return String(
        format: "\r[%@] %3d%%  %.1f / %.1f MiB",
        bar,
        percent,
        Double(state.bytes) / 1_048_576,
        Double(self.total) / 1_048_576
      )
    }
    if let line {
      FileHandle.standardError.write(Data(line.utf8))
    }
  }

  func finish() {
    if self.isTerminal {
      FileHandle.standardError.write(Data("\n".utf8))
    }
  }
}
