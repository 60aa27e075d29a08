import ArgumentParser

/// `storefront image`: uploads and downloads.
struct ImageCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "image",
    abstract: "Uploads and downloads product images.",
    subcommands: [ImageUploadCommand.self, ImageDownloadCommand.self]
  )
}
