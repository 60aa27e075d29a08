import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

struct ProductImport: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Creates or updates products by sku from a JSON Lines or CSV file, in one stream.",
    discussion: """
      JSON Lines: one product per line, in protobuf's JSON form ({"sku": "...", "name": \
      "...", "priceCents": 1299, ...}). CSV: a header row naming the columns among sku, name, \
      description, category, price_cents, currency, stock, then one product per row. The \
      server commits in batches; an interrupted import keeps what was committed, and running \
      it again is safe.
      """
  )

  enum Format: String, ExpressibleByArgument {
    case jsonl, csv
  }

  @Argument(help: "The file to import.")
  var file: String

  @Option(help: "jsonl or csv; by default from the file's extension.")
  var format: Format?

  @OptionGroup var options: ClientOptions

  func run() async throws {
    let format = try self.format ?? Self.format(of: self.file)
    let reader = try ProductFileReader(path: self.file, format: format)
    let progress = ProgressBar(total: reader.sizeBytes)
    // Where each product sent came from, to name lines in the server's failures.
    let (summary, lines, unreadable) = try await self.options.withClient { client in
      try await client.importProducts { writer in
        while let record = try reader.next() {
          progress.advance(by: record.bytesRead)
          if let product = record.product {
            try await writer.write(.with { $0.product = product })
          }
        }
      } onResponse: { response in
        (try response.message, reader.sentLines, reader.unreadable)
      }
    }
    progress.finish()
    try self.options.print(summary) {
      var text = [
        "\(summary.created) created, \(summary.updated) updated, \(summary.unchanged) unchanged, "
          + "\(summary.failed + Int64(unreadable.count)) failed"
      ]
      for (line, reason) in unreadable {
        text.append("  line \(line): \(reason)")
      }
      for failure in summary.failures {
        let line = lines.indices.contains(Int(failure.position)) ? lines[Int(failure.position)] : 0
        text.append("  line \(line) (sku \(failure.sku)): \(failure.field) \(failure.reason)")
      }
      if summary.failed > summary.failures.count {
        text.append("  ... and \(summary.failed - Int64(summary.failures.count)) more")
      }
      return text.joined(separator: "\n")
    }
  }

  private static func format(of path: String) throws -> Format {
    switch URL(fileURLWithPath: path).pathExtension.lowercased() {
    case "jsonl", "ndjson", "json": return .jsonl
    case "csv": return .csv
    default: throw ValidationError("\(path): say --format jsonl or --format csv")
    }
  }
}

/// Reads products from a file a record at a time, never the whole file.
///
/// Not `Sendable`: it belongs to the one task that streams the import.
final class ProductFileReader: @unchecked Sendable {
  struct Record {
    /// The product, or nil when the record could not be read (see ``unreadable``).
    var product: Storefront_V1_Product?
    var bytesRead: Int64
  }

  let sizeBytes: Int64
  private let format: ProductImport.Format
  private let lines: LineReader
  private var columns: [String]?
  /// The line number of each product sent, by stream position.
  private(set) var sentLines: [Int] = []
  /// Records that could not be read, with their line numbers.
  private(set) var unreadable: [(line: Int, reason: String)] = []

  init(path: String, format: ProductImport.Format) throws {
    self.lines = try LineReader(path: path)
    self.sizeBytes = self.lines.sizeBytes
    self.format = format
  }

  /// The next record; nil at the end of the file.
  func next() throws -> Record? {
    while let (line, text, bytes) = try self.lines.next() {
      if text.allSatisfy(\.isWhitespace) { continue }
      do {
        let product: Storefront_V1_Product
        switch self.format {
        case .jsonl:
          product = try Storefront_V1_Product(jsonString: text)
        case .csv:
          var record = text
          var consumed = bytes
          // A quoted field may hold line breaks: read on until the quotes balance.
          while record.filter({ $0 == "\"" }).count % 2 == 1, let more = try self.lines.next() {
            record += "\n" + more.text
            consumed += more.bytes
          }
          guard let columns = self.columns else {
            self.columns = CSV.fields(of: record).map {
              $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            return Record(product: nil, bytesRead: consumed)
          }
          product = try CSV.product(columns: columns, values: CSV.fields(of: record))
          self.sentLines.append(line)
          return Record(product: product, bytesRead: consumed)
        }
        self.sentLines.append(line)
        return Record(product: product, bytesRead: bytes)
      } catch {
        let reason =
          self.format == .jsonl ? "not a product in protobuf's JSON form" : "\(error)"
        self.unreadable.append((line, reason))
        return Record(product: nil, bytesRead: bytes)
      }
    }
    return nil
  }
}

/// Lines of a file, read a block at a time.
final class LineReader {
  let sizeBytes: Int64
  private let handle: FileHandle
  private var buffer = Data()
  private var atEnd = false
  private var lineNumber = 0

  init(path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CommandFailure("\(path): cannot be read")
    }
    self.handle = handle
    self.sizeBytes = Int64((try? handle.seekToEnd()) ?? 0)
    try handle.seek(toOffset: 0)
  }

  deinit {
    try? self.handle.close()
  }

  /// The next line without its line break, its number from 1, and the bytes it took.
  func next() throws -> (line: Int, text: String, bytes: Int64)? {
    while true {
      if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = self.buffer[self.buffer.startIndex ..< newline]
        self.buffer.removeSubrange(self.buffer.startIndex ... newline)
        return self.emit(line, bytes: line.count + 1)
      }
      if self.atEnd {
        guard !self.buffer.isEmpty else { return nil }
        let line = self.buffer
        self.buffer = Data()
        return self.emit(line, bytes: line.count)
      }
      if let more = try self.handle.read(upToCount: 1 << 16), !more.isEmpty {
        self.buffer += more
      } else {
        self.atEnd = true
      }
    }
  }

  private func emit(_ line: Data, bytes: Int) -> (line: Int, text: String, bytes: Int64) {
    self.lineNumber += 1
    var text = String(decoding: line, as: UTF8.self)
    if text.hasSuffix("\r") { text.removeLast() }
    return (self.lineNumber, text, Int64(bytes))
  }
}

/// Just enough RFC 4180 for product files.
enum CSV {
  struct BadValue: Error, CustomStringConvertible {
    var description: String
  }

  /// The fields of one record: commas separate, double quotes quote, "" is a quote.
  static func fields(of record: String) -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    var iterator = record.makeIterator()
    while let character = iterator.next() {
      switch (character, quoted) {
      case ("\"", true):
        var lookahead = iterator
        if lookahead.next() == "\"" {
          field.append("\"")
          iterator = lookahead
        } else {
          quoted = false
        }
      case ("\"", false) where field.isEmpty:
        quoted = true
      case (",", false):
        fields.append(field)
        field = ""
      default:
        field.append(character)
      }
    }
    fields.append(field)
    return fields
  }

  /// A product from a row, by the header's column names.
  static func product(columns: [String], values: [String]) throws -> Storefront_V1_Product {
    guard values.count == columns.count else {
      throw BadValue(description: "\(values.count) fields where the header has \(columns.count)")
    }
    var product = Storefront_V1_Product()
    for (column, value) in zip(columns, values) {
      switch column {
      case "sku": product.sku = value
      case "name": product.name = value
      case "description": product.description_p = value
      case "category": product.category = value
      case "currency": product.currency = value
      case "price_cents":
        guard let cents = Int64(value) else {
          throw BadValue(description: "price_cents '\(value)' is not a whole number")
        }
        product.priceCents = cents
      case "stock":
        guard let stock = Int32(value) else {
          throw BadValue(description: "stock '\(value)' is not a whole number")
        }
        product.stock = stock
      default:
        throw BadValue(description: "unknown column '\(column)'")
      }
    }
    return product
  }
}
