import StorefrontService

/// One option or flag of `storefront serve`, as its other sources and its start-up log see
/// it: the name on the command line, whether it takes a value, whether its value is a secret
/// the log must not show, and how to read the value from a parsed command.
struct ServeSetting {
  /// Whether the setting takes a value (`--port 50051`) or is a flag (`--enable-compression`).
  enum Kind {
    case option
    case flag
  }

  /// The long name without dashes: `data-dir`.
  let name: String
  /// Option or flag.
  let kind: Kind
  /// A secret's value is logged as `(hidden)`.
  let isSecret: Bool
  /// The value of a parsed command as text; `unset` for an absent optional.
  let value: (Serve) -> String

  /// An option with a value (a default, or given).
  static func option<Value: CustomStringConvertible>(
    _ name: String,
    _ property: KeyPath<Serve, Value>,
    secret: Bool = false
  ) -> Self {
    Self(name: name, kind: .option, isSecret: secret) { $0[keyPath: property].description }
  }

  /// An option without a default: `unset` until given.
  static func option<Value: CustomStringConvertible>(
    _ name: String,
    _ property: KeyPath<Serve, Value?>,
    secret: Bool = false
  ) -> Self {
    Self(name: name, kind: .option, isSecret: secret) {
      $0[keyPath: property]?.description ?? "unset"
    }
  }

  /// A flag: `true` once given.
  static func flag(_ name: String, _ property: KeyPath<Serve, Bool>) -> Self {
    Self(name: name, kind: .flag, isSecret: false) { $0[keyPath: property].description }
  }

  /// The setting as ``SettingSources`` reads it from the environment and the config file.
  var source: SettingSources.Setting {
    SettingSources.Setting(name: self.name, isFlag: self.kind == .flag)
  }
}
