import ArgumentParser

@main
struct Storefront: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "storefront",
    abstract: "A product catalogue served over gRPC, and a client for it.",
    subcommands: [Serve.self, ProductCommand.self, ImageCommand.self, ChatCommand.self]
  )
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
