import Foundation
public import Logging
import Synchronization

/// Writes each log event as one line of text on standard error, in the format of swift-log's
/// `StreamLogHandler` (`2026-12-03T17:50:00+0000 info storefront: key=value [source]
/// message`), at a fraction of its cost: the access log writes a line per call, and with
/// `StreamLogHandler` that line was 13% of a GetProduct's samples under h2load (half of it
/// `localtime` and `strftime` for every line, the rest locking and flushing a `FILE`). Here the
/// timestamp is formatted once a second and a line is one `write(2)`.
public struct TextLogHandler: LogHandler {
  public var metadata: Logger.Metadata = [:] {
    didSet { self.prettyMetadata = Self.prettify(self.metadata) }
  }
  public var logLevel: Logger.Level = .info
  public var metadataProvider: Logger.MetadataProvider?
  private let label: String
  private var prettyMetadata: String?
  private let write: @Sendable (String) -> Void

  /// - Parameters:
  ///   - label: the logger's label.
  ///   - metadataProvider: metadata added to every event.
  ///   - write: receives each line, newline included; standard error by default.
  public init(
    label: String,
    metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
    write: @escaping @Sendable (String) -> Void = StandardError.write
  ) {
    self.label = label
    self.metadataProvider = metadataProvider
    self.write = write
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    let provided = self.metadataProvider?.get() ?? [:]
    let explicit = event.metadata ?? [:]
    let pretty: String?
    if provided.isEmpty, explicit.isEmpty, event.error == nil {
      pretty = self.prettyMetadata
    } else {
      var merged = self.metadata
      merged.merge(provided) { $1 }
      merged.merge(explicit) { $1 }
      if let error = event.error {
        merged["error.message"] = "\(error)"
        merged["error.type"] = "\(String(reflecting: type(of: error)))"
      }
      pretty = Self.prettify(merged)
    }
    var line = Self.clock.timestamp()
    line += " \(event.level)"
    if !self.label.isEmpty { line += " \(self.label)" }
    line += ":"
    if let pretty { line += " \(pretty)" }
    line += " [\(event.source)] \(event.message)\n"
    self.write(line)
  }

  private static func prettify(_ metadata: Logger.Metadata) -> String? {
    guard !metadata.isEmpty else { return nil }
    return metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
      separator: " "
    )
  }

  private static let clock = LogClock()
}

/// The local time, to the second, as `StreamLogHandler` writes it (`%Y-%m-%dT%H:%M:%S%z`),
/// formatted once for each second.
private final class LogClock: Sendable {
  private let last = Mutex<(second: time_t, text: String)>((-1, ""))

  func timestamp() -> String {
    let now = time(nil)
    return self.last.withLock { last in
      if last.second != now {
        last = (now, Self.format(now))
      }
      return last.text
    }
  }

  private static func format(_ second: time_t) -> String {
    var second = second
    var local = tm()
    guard localtime_r(&second, &local) != nil else { return "<unknown>" }
    var buffer = [CChar](repeating: 0, count: 64)
    let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
