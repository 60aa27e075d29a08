import ArgumentParser
import StorefrontAPI
import SwiftProtobuf
import Testing

@testable import storefront

@Suite("Command line")
struct CommandLineTests {
  /// What the command line prints when `arguments` do not parse.
  static func failure(_ arguments: [String]) -> String? {
    do {
      _ = try Storefront.parseAsRoot(arguments)
      return nil
    } catch {
      return Storefront.fullMessage(for: error, columns: 200)
    }
  }

  @Test(
    "usage errors show the usage of the subcommand that was run",
    arguments: [
      (["product", "update", "p_1"], "storefront product update", "at least one field"),
      (["image", "upload", "p_1", "notes.txt"], "storefront image upload", "not a .png"),
      (["product", "import", "products.xlsx"], "storefront product import", "--format jsonl"),
      (["product", "get", "p_1", "--server", "nowhere"], "storefront product get", "host:port"),
      (["bench", "get", "--server", "nowhere"], "storefront bench", "host:port"),
    ]
  )
  func subcommandUsage(arguments: [String], usage: String, message: String) throws {
    let text = try #require(Self.failure(arguments))
    #expect(text.contains(message), "\(text)")
    #expect(text.contains("Usage: \(usage)"), "\(text)")
  }

  @Test("an error thrown while running shows the running command's usage too")
  func runtimeUsage() {
    let text = Storefront.usageMessage("bad", command: ProductImportCommand.self)
    #expect(text.hasPrefix("Error: bad\nUsage: storefront product import"))
    #expect(text.hasSuffix("See 'storefront product import --help' for more information.\n"))
    #expect(Storefront.commandPath(to: UserAddCommand.self) == ["storefront", "user", "add"])
    #expect(Storefront.commandPath(to: Serve.self) == ["storefront", "serve"])
  }

  @Test("chat --name still parses for old scripts, and is not offered")
  func chatName() throws {
    let chat = try ChatCommand.parse(["p_1", "--name", "alice"])
    #expect(chat.room == "p_1")
    #expect(!ChatCommand.helpMessage().contains("--name"))
  }

  @Test("import's help says how it exits when rows fail; its currency defaults to create's")
  func importHelp() throws {
    let help = ProductImportCommand.helpMessage(columns: 200)
      .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    #expect(help.contains("2 when some rows failed"))
    #expect(help.contains("--currency"))
    let command = try ProductImportCommand.parse(["a.csv"])
    #expect(command.currency == ProductFieldOptions.defaultCurrency)
  }

  @Test("prices read the same in get, list and watch")
  func prices() {
    let product = Storefront_V1_Product.with {
      $0.id = "p_1"
      $0.name = "Mug"
      $0.priceCents = 777
      $0.currency = "USD"
      $0.stock = 3
    }
    #expect(product.priceText == "7.77 USD")
    #expect(product.summary.contains("· 7.77 USD ·"))
    let change = Storefront_V1_ProductChange.with {
      $0.sequence = 4
      $0.kind = .updated
      $0.product = product
    }
    #expect(ProductWatchCommand.text(of: change) == "#4 updated p_1  Mug   · 7.77 USD · 3 in stock")
    #expect(Storefront_V1_Product.with { $0.priceCents = 5 }.priceText == "0.05")
  }
}
