import Foundation

/// Lines of a file, read a block at a time.
final class LineReader {
  let sizeBytes: Int64
  private let handle: FileHandle
  private var buffer = Data()
  private var atEnd = false
  private var lineNumber = 0

  init(path: String) throws {
    let handle = try InputFile.open(path)
    self.handle = handle
    self.sizeBytes = Int64((try? handle.seekToEnd()) ?? 0)
    try handle.seek(toOffset: 0)
  }

  deinit {
    try? self.handle.close()
  }

  /// The next line without its line break, its number from 1, and the bytes it took.
  func next() throws -> (line: Int, text: String, bytes: Int64)? {
    while true {
      if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = self.buffer[self.buffer.startIndex ..< newline]
        self.buffer.removeSubrange(self.buffer.startIndex ... newline)
        return self.emit(line, bytes: line.count + 1)
      }
      if self.atEnd {
        guard !self.buffer.isEmpty else { return nil }
        let line = self.buffer
        self.buffer = Data()
        return self.emit(line, bytes: line.count)
      }
      if let more = try self.handle.read(upToCount: 1 << 16), !more.isEmpty {
        self.buffer += more
      } else {
        self.atEnd = true
      }
    }
  }

  private func emit(_ line: Data, bytes: Int) -> (line: Int, text: String, bytes: Int64) {
    self.lineNumber += 1
    var text = String(decoding: line, as: UTF8.self)
    if text.hasSuffix("\r") { text.removeLast() }
    return (self.lineNumber, text, Int64(bytes))
  }
}
