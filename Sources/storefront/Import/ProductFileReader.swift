import ArgumentParser
import Foundation
import StorefrontAPI
import SwiftProtobuf

/// Reads products from a file a record at a time, never the whole file.
///
/// `@unchecked Sendable` without a lock: the import's request producer reads the file, and
/// only after it has finished does the response handler read the line numbers, never both
/// at once.
final class ProductFileReader: @unchecked Sendable {
  /// What the file holds.
  enum Format: String, ExpressibleByArgument, Sendable {
    /// One product per line in protobuf's JSON form.
    case jsonl
    /// A header row, then one product per row.
    case csv
  }

  /// One record of the file.
  struct Record {
    /// The product, or nil when the record could not be read (see ``unreadable``).
    var product: Storefront_V1_Product?
    var bytesRead: Int64
  }

  /// The most unreadable records listed; all are counted.
  static let maxListedUnreadable = 1_000
  /// The longest CSV record, in characters: a stray quote must not swallow the file.
  static let maxRecordLength = 1 << 20

  /// The file's size, for the progress bar.
  let sizeBytes: Int64
  private let format: Format
  private let defaultCurrency: String
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

  /// Opens the file at `path`.
  /// - Parameters:
  ///   - defaultCurrency: the currency of products whose record names none.
  /// - Throws: ``CommandFailure`` when the file does not exist or cannot be read.
  init(path: String, format: Format, defaultCurrency: String) throws {
    self.lines = try LineReader(path: path)
    self.sizeBytes = self.lines.sizeBytes
    self.format = format
    self.defaultCurrency = defaultCurrency
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

  /// The next record; nil at the end of the file. Blank lines are skipped.
  /// - Throws: ``CommandFailure`` for a bad CSV header; a bad record is not thrown but
  ///   counted in ``unreadable``.
  func next() throws -> Record? {
    while let (line, text, bytes) = try self.lines.next() {
      if text.allSatisfy(\.isWhitespace) { continue }
      var consumed = bytes
      do {
        var product: Storefront_V1_Product
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
        if product.currency.isEmpty { product.currency = self.defaultCurrency }
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
