public import Foundation

/// Where a command's settings come from besides its command line: environment variables
/// (`STOREFRONT_PORT=50052` for `--port 50052`) and a JSON config file
/// (`{"port": 50052}`). Both become command-line arguments placed before the real ones, so
/// that the command line wins over the environment, which wins over the file.
public enum SettingSources {
  /// One option or flag of the command.
  public struct Setting: Hashable, Sendable {
    /// The long name, without dashes: `data-dir`.
    public var name: String
    /// A flag takes no value: `true` sets it, `false` leaves it off.
    public var isFlag: Bool

    public init(name: String, isFlag: Bool) {
      self.name = name
      self.isFlag = isFlag
    }

    /// The environment variable that sets it: `STOREFRONT_DATA_DIR`.
    public var environmentVariable: String {
      SettingSources.environmentPrefix
        + self.name.uppercased().replacingOccurrences(of: "-", with: "_")
    }
  }

  /// Why settings could not be read.
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// What every variable name starts with.
  public static let environmentPrefix = "STOREFRONT_"
  /// The option naming the config file; also `STOREFRONT_CONFIG`.
  public static let configOption = "config"

  /// The arguments to parse: the file's settings, then the environment's, then `arguments`.
  /// - Parameters:
  ///   - settings: the command's options and flags.
  ///   - arguments: the command line after the subcommand's name.
  ///   - environment: the process's environment.
  ///   - readFile: reads the config file.
  /// - Throws: ``Failure`` for a file that cannot be read or parsed, an unknown key, a value
  ///   of the wrong kind, or a flag variable that is neither true nor false.
  public static func arguments(
    settings: [Setting],
    commandLine arguments: [String],
    environment: [String: String],
    readFile: (String) throws -> Data = { try Data(contentsOf: URL(fileURLWithPath: $0)) }
  ) throws -> [String] {
    let byName = Dictionary(settings.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    var fromFile: [String] = []
    if let path = Self.configPath(in: arguments) ?? environment[Self.environmentPrefix + "CONFIG"] {
      fromFile = try Self.fileArguments(path: path, settings: byName, readFile: readFile)
    }
    var fromEnvironment: [String] = []
    for setting in settings.sorted(by: { $0.name < $1.name })
    where setting.name != Self.configOption {
      guard let value = environment[setting.environmentVariable] else { continue }
      fromEnvironment += try Self.arguments(
        for: setting,
        value: value,
        source: setting.environmentVariable
      )
    }
    return fromFile + fromEnvironment + arguments
  }

  /// The value of `--config` on the command line, if any.
  private static func configPath(in arguments: [String]) -> String? {
    for (index, argument) in arguments.enumerated() {
      if argument == "--" + Self.configOption, index + 1 < arguments.count {
        return arguments[index + 1]
      }
      if argument.hasPrefix("--\(Self.configOption)=") {
        return String(argument.dropFirst(Self.configOption.count + 3))
      }
    }
    return nil
  }

  private static func fileArguments(
    path: String,
    settings: [String: Setting],
    readFile: (String) throws -> Data
  ) throws -> [String] {
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: try readFile(path))
    } catch {
      throw Failure(description: "config file \(path): \(error.localizedDescription)")
    }
    guard let entries = object as? [String: Any] else {
      throw Failure(description: "config file \(path): must hold one JSON object")
    }
    var arguments: [String] = []
    for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
      guard let setting = settings[key], key != Self.configOption else {
        throw Failure(description: "config file \(path): unknown setting '\(key)'")
      }
      let text: String
      // JSON's true and false arrive as NSNumbers too; their type code tells them apart.
      let number = value as? NSNumber
      let isBoolean = number.map { String(cString: $0.objCType) == "c" } ?? false
      switch value {
      case let number as NSNumber where setting.isFlag && isBoolean:
        text = number.boolValue ? "true" : "false"
      case let number as NSNumber where !setting.isFlag && !isBoolean: text = number.stringValue
      case let string as String where !setting.isFlag: text = string
      default:
        throw Failure(
          description:
            "config file \(path): '\(key)' must be \(setting.isFlag ? "true or false" : "a string or a number")"
        )
      }
      arguments += try Self.arguments(for: setting, value: text, source: "config file \(path)")
    }
    return arguments
  }

  private static func arguments(
    for setting: Setting,
    value: String,
    source: String
  ) throws -> [String] {
    guard setting.isFlag else { return ["--" + setting.name, value] }
    switch value.lowercased() {
    case "true", "1", "yes": return ["--" + setting.name]
    case "false", "0", "no", "": return []
    default: throw Failure(description: "\(source): '\(value)' is not true or false")
    }
  }
}
