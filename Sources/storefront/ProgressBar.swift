import Foundation
import Synchronization

/// A one-line progress bar on standard error, drawn only when it is a terminal.
final class ProgressBar: Sendable {
  /// What the bar counts.
  enum Unit: Sendable {
    case bytes
    case items(String)
  }

  private let total: Int64
  private let unit: Unit
  private let isTerminal = isatty(STDERR_FILENO) == 1
  private let done = Mutex<(bytes: Int64, lastPercent: Int)>((0, -1))

  /// - Parameters:
  ///   - total: the count at 100%.
  ///   - done: the count already done (a resumed download).
  ///   - unit: how to show the counts.
  init(total: Int64, done: Int64 = 0, unit: Unit = .bytes) {
    self.total = max(1, total)
    self.unit = unit
    self.done.withLock { $0.bytes = done }
  }

  /// Counts `bytes` more done.
  func advance(by bytes: Int64) {
    self.update { $0 += bytes }
  }

  /// Sets the count done so far.
  func set(done bytes: Int64) {
    self.update { $0 = bytes }
  }

  private func update(_ change: (inout Int64) -> Void) {
    guard self.isTerminal else { return }
    let line: String? = self.done.withLock { state in
      change(&state.bytes)
      let percent = Int(state.bytes * 100 / self.total)
      guard percent != state.lastPercent else { return nil }
      state.lastPercent = percent
      let filled = percent * 30 / 100
      let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled)
      let counts =
        switch self.unit {
        case .bytes:
          String(
            format: "%.1f / %.1f MiB",
            Double(state.bytes) / 1_048_576,
            Double(self.total) / 1_048_576
          )
        case .items(let name): "\(state.bytes) / \(self.total) \(name)"
        }
      return String(format: "\r[%@] %3d%%  %@", bar, percent, counts)
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
