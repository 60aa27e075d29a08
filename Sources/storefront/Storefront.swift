import ArgumentParser
import Foundation
import StorefrontService

@main
struct Storefront: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "storefront",
    abstract: "A product catalogue served over gRPC, and a client for it.",
    subcommands: [
      Serve.self, Login.self, UserCommand.self, ProductCommand.self, ImageCommand.self,
      ChatCommand.self, Bench.self,
    ]
  )

  /// `serve` also reads its settings from the environment and a config file.
  static func main() async {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "serve" {
      do {
        arguments =
          ["serve"]
          + (try SettingSources.arguments(
            settings: Serve.settings,
            commandLine: Array(arguments.dropFirst()),
            environment: ProcessInfo.processInfo.environment
          ))
      } catch {
        Self.exit(withError: error)
      }
    }
    await Self.main(arguments)
  }
}

struct ProductCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "product",
    abstract: "Reads and writes products.",
    subcommands: [
      ProductGet.self, ProductList.self, ProductCreate.self, ProductUpdate.self,
      ProductDelete.self, ProductWatch.self, ProductImport.self,
    ]
  )
}

struct ImageCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "image",
    abstract: "Uploads and downloads product images.",
    subcommands: [ImageUpload.self, ImageDownload.self]
  )
}
