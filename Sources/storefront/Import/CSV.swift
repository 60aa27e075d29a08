import Foundation
import StorefrontAPI

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
