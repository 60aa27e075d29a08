import Foundation
public import Logging
import Synchronization

/// Writes each log event as one JSON object on one line, for log shippers: `time` (ISO 8601,
/// UTC, milliseconds), `level`, `label`, `message`, then the metadata's keys.
public struct JSONLogHandler: LogHandler {
  public var metadata: Logger.Metadata = [:]
  public var logLevel: Logger.Level = .info
  private let label: String
  private let write: @Sendable (String) -> Void

  /// - Parameters:
  ///   - label: the logger's label.
  ///   - write: receives each line, newline included; standard error by default.
  public init(
    label: String,
    write: @escaping @Sendable (String) -> Void = StandardError.write
  ) {
    self.label = label
    self.write = write
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var object: [String: Any] = [:]
    for (key, value) in self.metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
      object[key] = Self.json(value)
    }
    object["time"] = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    object["level"] = "\(event.level)"
    object["label"] = self.label
    object["message"] = "\(event.message)"
    guard
      let data = try? JSONSerialization.data(
        withJSONObject: object,
        options: [.sortedKeys, .withoutEscapingSlashes]
      ),
      let line = String(data: data, encoding: .utf8)
    else { return }
    self.write(line + "\n")
  }

  private static func json(_ value: Logger.MetadataValue) -> Any {
    switch value {
    case .string(let text): text
    case .stringConvertible(let convertible): "\(convertible)"
    case .array(let values): values.map(Self.json)
    case .dictionary(let values): values.mapValues(Self.json)
    }
  }
}
