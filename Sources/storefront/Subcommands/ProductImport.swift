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
    // A bad CSV header fails here, before anything is sent.
    try reader.readHeader()
    let progress = ProgressBar(total: reader.sizeBytes)
    // The reader also knows where each product sent came from, to name lines in failures.
    let (summary, lines, unreadable) = try await self.options.withClient { client in
      try await client.importProducts { writer in
        while let record = try reader.next() {
          progress.advance(by: record.bytesRead)
          if let product = record.product {
            try await writer.write(.with { $0.product = product })
          }
        }
      } onResponse: { response in
        (try response.message, reader, reader.unreadable)
      }
    }
    progress.finish()
    try self.options.print(summary) {
      var text = [
        "\(summary.created) created, \(summary.updated) updated, \(summary.unchanged) unchanged, "
          + "\(summary.failed + Int64(lines.unreadableCount)) failed"
      ]
      for (line, reason) in unreadable {
        text.append("  line \(line): \(reason)")
      }
      for failure in summary.failures {
        let line = lines.line(ofPosition: Int(failure.position))
        text.append("  line \(line) (sku \(failure.sku)): \(failure.field) \(failure.reason)")
      }
      let listed = summary.failures.count + unreadable.count
      let failed = Int(summary.failed) + lines.unreadableCount
      if failed > listed {
        text.append("  ... and \(failed - listed) more")
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

  /// The most unreadable records listed; all are counted.
  static let maxListedUnreadable = 1_000
  /// The longest CSV record, in characters: a stray quote must not swallow the file.
  static let maxRecordLength = 1 << 20

  let sizeBytes: Int64
  private let format: ProductImport.Format
  private let lines: LineReader
  private var columns: [String]?
  /// Where the line numbers of the products sent jump: (stream position, line). Dense files
  /// need few entries, so a file of any size costs little memory.
  private var lineJumps: [(position: Int, line: Int)] = []
  private var sent = 0
  /// The first records that could not be read, with their line numbers.
  private(set) var unreadable: [(line: Int, reason: String)] = []
  /// How many records could not be read.
  private(set) var unreadableCount = 0

  init(path: String, format: ProductImport.Format) throws {
    self.lines = try LineReader(path: path)
    self.sizeBytes = self.lines.sizeBytes
    self.format = format
  }

  /// The line of the product sent at stream position `position`.
  func line(ofPosition position: Int) -> Int {
    var low = 0
    var high = self.lineJumps.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if self.lineJumps[middle].position <= position { low = middle } else { high = middle - 1 }
    }
    guard let jump = self.lineJumps.indices.contains(low) ? self.lineJumps[low] : nil else {
      return 0
    }
    return jump.line + (position - jump.position)
  }

  private func recordSent(line: Int) {
    if self.line(ofPosition: self.sent) != line || self.lineJumps.isEmpty {
      self.lineJumps.append((self.sent, line))
    }
    self.sent += 1
  }

  /// Reads and checks a CSV file's header; nothing for JSON Lines.
  /// - Throws: ``CommandFailure`` for a header with unknown or repeated columns, or no sku.
  func readHeader() throws {
    guard self.format == .csv, self.columns == nil else { return }
    _ = try self.next()
  }

  /// The next record; nil at the end of the file.
  func next() throws -> Record? {
    while let (line, text, bytes) = try self.lines.next() {
      if text.allSatisfy(\.isWhitespace) { continue }
      var consumed = bytes
      do {
        let product: Storefront_V1_Product
        switch self.format {
        case .jsonl:
          product = try Storefront_V1_Product(jsonString: text)
        case .csv:
          var record = line == 1 && text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
          // A quoted field may hold line breaks: read on while a quoted field is open.
          while CSV.endsInsideQuotes(record), record.count < Self.maxRecordLength,
            let more = try self.lines.next()
          {
            record += "\n" + more.text
            consumed += more.bytes
          }
          guard let columns = self.columns else {
            let header = CSV.fields(of: record).map {
              $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            try CSV.checkHeader(header)
            self.columns = header
            return Record(product: nil, bytesRead: consumed)
          }
          product = try CSV.product(columns: columns, values: CSV.fields(of: record))
        }
        self.recordSent(line: line)
        return Record(product: product, bytesRead: consumed)
      } catch let failure as CommandFailure {
        throw failure
      } catch {
        let reason =
          self.format == .jsonl ? "not a product in protobuf's JSON form" : "\(error)"
        self.unreadableCount += 1
        if self.unreadable.count < Self.maxListedUnreadable {
          self.unreadable.append((line, reason))
        }
        return Record(product: nil, bytesRead: consumed)
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
    Self.scan(record).fields
  }

  /// Reads a record: its fields, and whether it ends inside a quoted field (so that the
  /// next line belongs to it). A quote opens a field only at its start; inside one, "" is a
  /// quote.
  private static func scan(_ record: String) -> (fields: [String], open: Bool) {
    var fields: [String] = []
    var field = ""
    var started = false
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
      case ("\"", false) where !started:
        quoted = true
        started = true
      case (",", false):
        fields.append(field)
        field = ""
        started = false
      default:
        field.append(character)
        started = true
      }
    }
    fields.append(field)
    return (fields, quoted)
  }

  /// The columns a product file may have.
  static let knownColumns: Set<String> = [
    "sku", "name", "description", "category", "price_cents", "currency", "stock",
  ]

  /// Fails fast on a header with an unknown or repeated column, or without sku.
  static func checkHeader(_ header: [String]) throws {
    if let unknown = header.first(where: { !Self.knownColumns.contains($0) }) {
      throw CommandFailure(
        "CSV header: unknown column '\(unknown)'; columns are "
          + Self.knownColumns.sorted().joined(separator: ", ")
      )
    }
    guard Set(header).count == header.count, header.contains("sku") else {
      throw CommandFailure("CSV header: each column once, and a sku column")
    }
  }

  /// Whether `record` ends inside a quoted field, by the same rules as ``fields(of:)``.
  static func endsInsideQuotes(_ record: String) -> Bool {
    Self.scan(record).open
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
