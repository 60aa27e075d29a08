import ArgumentParser
import Foundation
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront product import FILE`: upserts products by sku from JSON Lines or CSV, in one
/// ImportProducts stream.
struct ProductImportCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Creates or updates products by sku from a JSON Lines or CSV file, in one stream.",
    discussion: """
      JSON Lines: one product per line, in protobuf's JSON form ({"sku": "...", "name": \
      "...", "priceCents": 1299, ...}). CSV: a header row naming the columns among sku, name, \
      description, category, price_cents, currency, stock, then one product per row. A \
      product without a currency gets --currency (USD, as `product create`). The server \
      commits in batches; an interrupted import keeps what was committed, and running it \
      again is safe.

      Exit status: 0 when every product was imported; \(Self.someFailedExitCode) when some \
      rows failed (the summary lists them by line; the others were imported); 1 when the \
      import could not run.
      """
  )

  /// The exit status when some rows failed and the rest were imported.
  static let someFailedExitCode: Int32 = 2

  @Argument(help: "The file to import.")
  var file: String

  @Option(help: "jsonl or csv; by default from the file's extension.")
  var format: ProductFileReader.Format?

  @Option(help: "ISO 4217 currency of products that name none.")
  var currency = ProductFieldOptions.defaultCurrency

  @OptionGroup var options: ClientOptions

  /// Refuses a file whose format cannot be told before anything is read.
  func validate() throws {
    _ = try self.resolvedFormat()
  }

  /// Streams the file and prints the summary.
  /// - Throws: `ExitCode(2)` after the summary when any row failed.
  func run() async throws {
    let reader = try ProductFileReader(
      path: self.file,
      format: try self.resolvedFormat(),
      defaultCurrency: self.currency
    )
    // A bad CSV header fails here, before anything is sent.
    try reader.readHeader()
    let progress = ProgressBar(total: reader.sizeBytes)
    let summary = try await self.options.withClient { client in
      try await client.importProducts { writer in
        while let record = try reader.next() {
          progress.advance(by: record.bytesRead)
          if let product = record.product {
            try await writer.write(product)
          }
        }
      }
    }
    progress.finish()
    let failed = Int(summary.failed) + reader.unreadableCount
    if self.options.json {
      // The summary is the server's; what never reached it is said beside it.
      for (line, reason) in reader.unreadable {
        FileHandle.standardError.write(Data("line \(line): \(reason)\n".utf8))
      }
    }
    try self.options.print(summary) { Self.summaryText(summary, reader: reader) }
    if failed > 0 {
      throw ExitCode(Self.someFailedExitCode)
    }
  }

  /// The summary for people: the counts, then each failure by line of the file.
  static func summaryText(
    _ summary: Storefront_V1_ImportProductsResponse,
    reader: ProductFileReader
  ) -> String {
    let failed = Int(summary.failed) + reader.unreadableCount
    var text = [
      "\(summary.created) created, \(summary.updated) updated, \(summary.unchanged) unchanged, "
        + "\(failed) failed"
    ]
    for (line, reason) in reader.unreadable {
      text.append("  line \(line): \(reason)")
    }
    for failure in summary.failures {
      let line = reader.line(ofPosition: Int(failure.position))
      text.append("  line \(line) (sku \(failure.sku)): \(failure.field) \(failure.reason)")
    }
    let listed = summary.failures.count + reader.unreadable.count
    if failed > listed {
      text.append("  ... and \(failed - listed) more")
    }
    return text.joined(separator: "\n")
  }

  private func resolvedFormat() throws -> ProductFileReader.Format {
    if let format = self.format { return format }
    switch URL(fileURLWithPath: self.file).pathExtension.lowercased() {
    case "jsonl", "ndjson", "json": return .jsonl
    case "csv": return .csv
    default: throw ValidationError("\(self.file): say --format jsonl or --format csv")
    }
  }
}
