import ArgumentParser
import Foundation
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront product watch`: WatchProducts until interrupted.
struct ProductWatchCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "watch",
    abstract: "Prints product changes as they are committed, until interrupted.",
    discussion: """
      Each change has a sequence. When the stream breaks (the server restarts), the command \
      reconnects by itself and resumes after the last sequence it printed; if it gives up, \
      run it again with --since and that sequence: no change is missed or repeated.
      """
  )

  @Option(help: "Only changes of products in this category, before or after the change.")
  var category: String?

  @Option(name: .customLong("id"), help: "Only changes of this product (repeatable).")
  var ids: [String] = []

  @Option(help: "First the changes after this sequence, then live ones.")
  var since: Int64?

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    let filter = StorefrontClient.ChangeFilter(category: self.category ?? "", ids: self.ids)
    let options = self.options
    try await self.options.withClient { client in
      try await client.watchChanges(filter, since: self.since) { start in
        FileHandle.standardError.write(Data("watching after sequence \(start)\n".utf8))
      } _: { change in
        try options.print(change) { Self.text(of: change) }
      }
    }
  }
}

extension ProductWatchCommand {
  /// One line for people: `#12 updated p_01...  Blue mug  kitchen · 7.77 USD · 3 in stock`.
  static func text(of change: Storefront_V1_ProductChange) -> String {
    let product = change.product
    return "#\(change.sequence) \(change.kind.label) \(product.id)  \(product.name)  "
      + "\(product.category) · \(product.priceText) · \(product.stock) in stock"
  }
}

extension Storefront_V1_ProductChange.Kind {
  fileprivate var label: String {
    switch self {
    case .created: "created"
    case .updated: "updated"
    case .deleted: "deleted"
    case .unspecified, .UNRECOGNIZED: "changed"
    }
  }
}
