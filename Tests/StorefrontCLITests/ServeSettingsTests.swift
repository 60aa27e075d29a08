import ArgumentParser
import Foundation
import Logging
import StorefrontService
import Testing

@testable import storefront

@Suite("Serve settings")
struct ServeSettingsTests {
  /// The options and flags `storefront serve --help` shows, by name: true for a flag.
  static func optionsInHelp() -> [String: Bool] {
    var options: [String: Bool] = [:]
    let pattern = /^\s+(?:-\w, )?--([a-z0-9-]+)( <[^>]+>)?/
    for line in Serve.helpMessage(includeHidden: true, columns: 200).split(separator: "\n") {
      guard let match = line.firstMatch(of: pattern) else { continue }
      options[String(match.1)] = match.2 == nil
    }
    options["help"] = nil
    return options
  }

  @Test("the list names every option of --help once, flags as flags")
  func listMatchesHelp() {
    let listed = Serve.settings.map { ($0.name, $0.kind == .flag) }
    #expect(Set(listed.map(\.0)).count == listed.count)
    let help = Self.optionsInHelp()
    #expect(help.count > 30)
    #expect(Dictionary(uniqueKeysWithValues: listed) == help)
  }

  @Test("values are the parsed ones, in the text the start-up log shows")
  func values() throws {
    let serve = try Serve.parse([
      "--port", "7", "--enable-compression", "--chat-rate", "2.5", "--tls-cert", "c.pem",
      "--tls-key", "k.pem",
    ])
    let settings = serve.effectiveSettings
    #expect(settings["port"] == "7")
    #expect(settings["enable-compression"] == "true")
    #expect(settings["require-auth-for-reads"] == "false")
    #expect(settings["chat-rate"] == "2.5")
    #expect(settings["shutdown-grace"] == "10.0")
    #expect(settings["tls-cert"] == "c.pem")
    #expect(settings["metrics-port"] == "unset")
    #expect(settings["change-log-keep"] == "1000000")
    #expect(settings.count == Serve.settings.count)
  }

  @Test("a secret's value is hidden from the log")
  func secretsHidden() throws {
    let secret = ServeSetting.option("host", \.host, secret: true)
    #expect(secret.isSecret)
    let serve = try Serve.parse([])
    #expect(secret.value(serve) == "127.0.0.1")
    #expect(Serve.settings.allSatisfy { !$0.isSecret }, "token-key-file is a file name")
  }

  @Test("the environment and the config file reach the command; the command line wins")
  func sources() throws {
    let arguments = try SettingSources.arguments(
      settings: Serve.settings.map(\.source),
      commandLine: ["--port", "3", "--config", "settings.json"],
      environment: [
        "STOREFRONT_PORT": "2", "STOREFRONT_CHAT_BURST": "9",
        "STOREFRONT_REQUIRE_AUTH_FOR_READS": "true",
      ]
    ) { _ in Data(#"{"port": 1, "chat-rate": 2.5, "enable-compression": true}"#.utf8) }
    let serve = try Serve.parse(arguments)
    #expect(serve.port == 3)
    #expect(serve.chatBurst == 9)
    #expect(serve.chatRate == 2.5)
    #expect(serve.enableCompression)
    #expect(serve.requireAuthForReads)
  }

  @Test(
    "bad values are refused before the server starts",
    arguments: [
      ["--log-level", "loud"], ["--log-format", "xml"], ["--http2-max-frame-bytes", "1"],
      ["--shutdown-grace", "-1"], ["--tls-cert", "c.pem"], ["--download-chunk-bytes", "1"],
      ["--import-batch-size", "0"], ["--token-ttl", "0"],
    ]
  )
  func validation(arguments: [String]) {
    #expect(throws: (any Error).self) { try Serve.parse(arguments) }
  }

  @Test("the drain's log line names the calls in flight, the busiest method first")
  func activity() {
    let busy = ServerLifecycle.Activity(
      calls: ["Chat": 1, "ListProducts": 2, "Check": 1],
      chatMembers: 1
    )
    #expect(busy.callsDescription == "4 (2 ListProducts, 1 Chat, 1 Check)")
    #expect(ServerLifecycle.Activity(calls: [:], chatMembers: 0).callsDescription == "0")
  }
}
