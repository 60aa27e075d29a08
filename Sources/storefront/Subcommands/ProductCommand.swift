import ArgumentParser

/// `storefront product`: the catalogue's reads and writes.
struct ProductCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "product",
    abstract: "Reads and writes products.",
    subcommands: [
      ProductGetCommand.self, ProductListCommand.self, ProductCreateCommand.self,
      ProductUpdateCommand.self, ProductDeleteCommand.self, ProductWatchCommand.self,
      ProductImportCommand.self,
    ]
  )
}
