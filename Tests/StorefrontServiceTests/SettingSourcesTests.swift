import Foundation
import StorefrontTestKit
import Testing

@testable import StorefrontService

@Suite("SettingSources")
struct SettingSourcesTests {
  static let settings: [SettingSources.Setting] = [
    .init(name: "config", isFlag: false),
    .init(name: "port", isFlag: false),
    .init(name: "data-dir", isFlag: false),
    .init(name: "disable-compression", isFlag: true),
  ]

  struct NoFile: Error {}

  static func arguments(
    _ commandLine: [String],
    environment: [String: String] = [:],
    file: String? = nil
  ) throws -> [String] {
    try SettingSources.arguments(
      settings: Self.settings,
      commandLine: commandLine,
      environment: environment
    ) { _ in
      guard let file else { throw NoFile() }
      return Data(file.utf8)
    }
  }

  @Test("the file comes first, then the environment, then the command line, which wins")
  func precedence() throws {
    let arguments = try Self.arguments(
      ["--port", "3", "--config", "settings.json"],
      environment: ["STOREFRONT_PORT": "2", "STOREFRONT_DATA_DIR": "/env"],
      file: #"{"port": 1, "data-dir": "/file", "disable-compression": true}"#
    )
    #expect(
      arguments == [
        "--data-dir", "/file", "--disable-compression", "--port", "1",
        "--data-dir", "/env", "--port", "2",
        "--port", "3", "--config", "settings.json",
      ]
    )
  }

  @Test("variables are STOREFRONT_ and the name in capitals; others are ignored")
  func environmentNames() throws {
    #expect(Self.settings[2].environmentVariable == "STOREFRONT_DATA_DIR")
    let arguments = try Self.arguments(
      [],
      environment: ["STOREFRONT_BIN": "x", "PORT": "9", "STOREFRONT_DISABLE_COMPRESSION": "false"]
    )
    #expect(arguments.isEmpty)
    let on = try Self.arguments([], environment: ["STOREFRONT_DISABLE_COMPRESSION": "true"])
    #expect(on == ["--disable-compression"])
  }

  @Test("STOREFRONT_CONFIG names the file when --config does not; --config=FILE works too")
  func configFromEnvironment() throws {
    let fromVariable = try Self.arguments(
      [],
      environment: ["STOREFRONT_CONFIG": "x.json"],
      file: #"{"port": 7}"#
    )
    #expect(fromVariable == ["--port", "7"])
    let inline = try Self.arguments(["--config=x.json"], file: #"{"port": 8}"#)
    #expect(inline == ["--port", "8", "--config=x.json"])
  }

  @Test(
    "bad settings fail with a message naming them",
    arguments: [
      (#"{"colour": "blue"}"#, "colour"),
      (#"{"port": true}"#, "port"),
      (#"{"disable-compression": "yes"}"#, "disable-compression"),
      (#"[1, 2]"#, "one JSON object"),
      (#"{"#, "config file"),
    ]
  )
  func badFile(file: String, named: String) throws {
    let error = #expect(throws: SettingSources.Failure.self) {
      try Self.arguments(["--config", "bad.json"], file: file)
    }
    #expect(error?.description.contains(named) == true, "\(String(describing: error))")
  }

  @Test("a flag variable that is neither true nor false fails")
  func badFlagVariable() throws {
    let error = #expect(throws: SettingSources.Failure.self) {
      try Self.arguments([], environment: ["STOREFRONT_DISABLE_COMPRESSION": "maybe"])
    }
    #expect(error?.description.contains("STOREFRONT_DISABLE_COMPRESSION") == true)
  }

  @Test("a config file that cannot be read fails")
  func unreadableFile() throws {
    #expect(throws: SettingSources.Failure.self) {
      try Self.arguments(["--config", "missing.json"])
    }
  }
}
