import Foundation
import StorefrontAPI
import SwiftProtobuf
import Testing

@testable import storefront

@Suite("Product file reader")
struct ProductFileReaderTests {
  /// Everything the reader makes of a file: the products it would send, with the line each
  /// came from, and the records it could not read.
  struct Read {
    var products: [Storefront_V1_Product] = []
    var lines: [Int] = []
    var unreadable: [(line: Int, reason: String)] = []
    var unreadableCount = 0
  }

  static func read(
    _ contents: String,
    format: ProductFileReader.Format = .csv,
    currency: String = "USD"
  ) throws -> Read {
    let name = format == .csv ? "products.csv" : "products.jsonl"
    return try withTemporaryFile(named: name, contents: contents) { path in
      let reader = try ProductFileReader(path: path, format: format, defaultCurrency: currency)
      try reader.readHeader()
      var read = Read()
      while let record = try reader.next() {
        if let product = record.product { read.products.append(product) }
      }
      read.lines = read.products.indices.map { reader.line(ofPosition: $0) }
      read.unreadable = reader.unreadable
      read.unreadableCount = reader.unreadableCount
      return read
    }
  }

  @Test("the README's header imports, currency defaulting to USD as for product create")
  func readmeHeader() throws {
    let read = try Self.read(
      "sku,name,price_cents,category,stock\nMUG-1,Blue mug,1299,kitchen,12\n"
    )
    let product = try #require(read.products.first)
    #expect(product.sku == "MUG-1")
    #expect(product.name == "Blue mug")
    #expect(product.priceCents == 1_299)
    #expect(product.category == "kitchen")
    #expect(product.stock == 12)
    #expect(product.currency == ProductFieldOptions.defaultCurrency)
    #expect(product.currency == "USD")
  }

  @Test("--currency is the default; a row's own currency, or a line's, wins")
  func currencyDefault() throws {
    let csv = try Self.read("sku,currency\nA,\nB,EUR\n", currency: "GBP")
    #expect(csv.products.map(\.currency) == ["GBP", "EUR"])
    let jsonl = try Self.read(
      #"{"sku": "A"}"# + "\n" + #"{"sku": "B", "currency": "EUR"}"# + "\n",
      format: .jsonl
    )
    #expect(jsonl.products.map(\.currency) == ["USD", "EUR"])
  }

  @Test("header columns in any order and case, with spaces and a byte-order mark")
  func headerMapping() throws {
    let read = try Self.read("\u{FEFF} Stock ,NAME,sku, Price_Cents\r\n3,Cup,C-1,250\r\n")
    let product = try #require(read.products.first)
    #expect(product.sku == "C-1")
    #expect(product.name == "Cup")
    #expect(product.stock == 3)
    #expect(product.priceCents == 250)
  }

  @Test("quoted fields hold commas, doubled quotes and line breaks")
  func quoting() throws {
    let read = try Self.read(
      #"""
      sku,name,description
      A,"Mug, blue","He said ""hi"""
      B,"Two
      lines",plain
      C,x,"ends with a quote """
      """#
    )
    #expect(read.products.map(\.name) == ["Mug, blue", "Two\nlines", "x"])
    #expect(
      read.products.map(\.description_p) == [#"He said "hi""#, "plain", #"ends with a quote ""#]
    )
    #expect(read.lines == [2, 3, 5])
  }

  @Test("a quote inside an unquoted field is kept as it is")
  func quoteInsideField() {
    #expect(CSV.fields(of: #"a,5" screen,"b""c""#) == ["a", #"5" screen"#, #"b"c"#])
    #expect(CSV.fields(of: "a,,") == ["a", "", ""])
    #expect(CSV.endsInsideQuotes(#"a,"open"#))
    #expect(!CSV.endsInsideQuotes(#"a,"closed""#))
  }

  @Test("bad rows are listed with their line numbers and the rest are read")
  func badRows() throws {
    let read = try Self.read(
      """
      sku,name,price_cents,stock
      A,Good,100,1

      B,Bad price,12.50,1
      C,Too,many,fields,here
      D,"Two
      lines",abc,1
      E,Good again,200,2
      """
    )
    #expect(read.products.map(\.sku) == ["A", "E"])
    #expect(read.lines == [2, 8])
    #expect(read.unreadable.map(\.line) == [4, 5, 6])
    #expect(read.unreadable[0].reason == "price_cents '12.50' is not a whole number")
    #expect(read.unreadable[1].reason == "5 fields where the header has 4")
    #expect(read.unreadable[2].reason == "price_cents 'abc' is not a whole number")
    #expect(read.unreadableCount == 3)
  }

  @Test(
    "a bad header fails before anything is sent",
    arguments: [
      ("sku,colour\n", "unknown column 'colour'"),
      ("name,price_cents\n", "a sku column"),
      ("sku,name,Name\n", "each column once"),
    ]
  )
  func badHeader(header: String, message: String) throws {
    try withTemporaryFile(contents: header + "A,b\n") { path in
      let reader = try ProductFileReader(path: path, format: .csv, defaultCurrency: "USD")
      let error = #expect(throws: CommandFailure.self) { try reader.readHeader() }
      #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
  }

  @Test("JSON Lines: one product a line in protobuf's JSON form; blank lines skipped")
  func jsonLines() throws {
    let read = try Self.read(
      #"{"sku": "A", "name": "Mug", "priceCents": "1299", "stock": 2}"# + "\n\n"
        + #"{"sku": "B", "price_cents": 5}"# + "\n" + "not json\n" + #"{"sku": "C"}"#,
      format: .jsonl
    )
    #expect(read.products.map(\.sku) == ["A", "B", "C"])
    #expect(read.products.map(\.priceCents) == [1_299, 5, 0])
    #expect(read.lines == [1, 3, 5])
    #expect(read.unreadable.map(\.line) == [4])
    #expect(read.unreadable.first?.reason == "not a product in protobuf's JSON form")
  }

  @Test("a missing file says that it does not exist")
  func missingFile() {
    let error = #expect(throws: CommandFailure.self) {
      _ = try ProductFileReader(path: "/no/such/file.csv", format: .csv, defaultCurrency: "USD")
    }
    #expect(error?.description == "/no/such/file.csv does not exist")
  }

  @Test("the summary names each failure by its line, unreadable ones first")
  func summary() throws {
    let text = try withTemporaryFile(contents: "sku,price_cents\nA,1\nB,x\nC,-5\n") { path in
      let reader = try ProductFileReader(path: path, format: .csv, defaultCurrency: "USD")
      while try reader.next() != nil {}
      let summary = Storefront_V1_ImportProductsResponse.with {
        $0.created = 1
        $0.failed = 1
        $0.failures = [
          .with {
            $0.position = 1
            $0.sku = "C"
            $0.field = "product.price_cents"
            $0.reason = "must not be negative"
          }
        ]
      }
      return ProductImportCommand.summaryText(summary, reader: reader)
    }
    #expect(
      text == """
        1 created, 0 updated, 0 unchanged, 2 failed
          line 3: price_cents 'x' is not a whole number
          line 4 (sku C): product.price_cents must not be negative
        """
    )
  }
}
