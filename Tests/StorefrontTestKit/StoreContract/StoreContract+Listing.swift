import StorefrontCore
import Testing

/// A query and the names of the products it should find among `queryProducts`.
struct QueryCase: Sendable, CustomTestStringConvertible {
  var query: String
  var names: Set<String>

  var testDescription: String { "query \"\(self.query)\"" }
}

/// Price bounds and the prices they should let through among 100, 200, 300 and 400.
struct PriceCase: Sendable, CustomTestStringConvertible {
  var minimum: Int64?
  var maximum: Int64?
  var prices: [Int64]

  var testDescription: String {
    let minimum = self.minimum.map { "\($0)" } ?? "none"
    let maximum = self.maximum.map { "\($0)" } ?? "none"
    return "min \(minimum), max \(maximum)"
  }
}

extension StoreContract {
  /// Inserts the first `count` products of the demo catalogue.
  static func insertDemo(
    count: Int,
    into store: any ProductStore
  ) async throws -> [Product] {
    var products: [Product] = []
    for draft in DemoCatalog.products(count: count) {
      products.append(try await store.insert(draft))
    }
    return products
  }

  /// Every product of `store` matching `filter`, read in pages of `pageSize`.
  static func walk(
    _ store: any ProductStore,
    filter: ProductFilter = ProductFilter(),
    pageSize: Int
  ) async throws -> (ids: [String], pages: Int) {
    var ids: [String] = []
    var pages = 0
    var page = filter
    while pages <= 1_000 {
      let products = try await store.products(matching: page, limit: pageSize)
      pages += 1
      #expect(products.count <= pageSize)
      ids += products.map(\.id)
      guard products.count == pageSize, let last = products.last else { break }
      page.afterID = last.id
    }
    return (ids, pages)
  }

  static let listsInIDOrder = Case("products are listed in id order, up to the limit") { factory in
    try await factory.withStore { store in
      let inserted = try await Self.insertDemo(count: 12, into: store)
      let all = try await store.products(matching: ProductFilter(), limit: 100)
      let byID = inserted.sorted { $0.id < $1.id }
      #expect(all == byID)
      let first = try await store.products(matching: ProductFilter(), limit: 5)
      #expect(first == Array(all.prefix(5)))
      #expect(try await store.products(matching: ProductFilter(), limit: 0).isEmpty)
    }
  }

  static let pagesWithoutGapOrOverlap = Case(
    "afterID resumes exactly: pages of 7 walk 50 products with no gap and no overlap"
  ) { factory in
    try await factory.withStore { store in
      let inserted = try await Self.insertDemo(count: 50, into: store)
      let walk = try await Self.walk(store, pageSize: 7)
      #expect(walk.ids == inserted.map(\.id).sorted())
      #expect(walk.pages == 8)
      let afterLast = ProductFilter(afterID: walk.ids.last)
      #expect(try await store.products(matching: afterLast, limit: 7).isEmpty)
    }
  }

  static let pagesWithinFilter = Case("afterID resumes within a filtered listing") { factory in
    try await factory.withStore { store in
      let inserted = try await Self.insertDemo(count: 40, into: store)
      let books = inserted.filter { $0.draft.category == "books" }.map(\.id).sorted()
      #expect(books.count == 4)
      let walk = try await Self.walk(store, filter: ProductFilter(category: "books"), pageSize: 3)
      #expect(walk.ids == books)
    }
  }

  static let categoryFilter = Case("the category filter matches the category exactly") { factory in
    try await factory.withStore { store in
      let first = try await store.insert(.sample(category: "books"))
      let second = try await store.insert(.sample(category: "books"))
      for category in ["bookshelf", "Books", "toys", ""] {
        _ = try await store.insert(.sample(category: category))
      }
      let found = try await store.products(matching: ProductFilter(category: "books"), limit: 100)
      #expect(Set(found.map(\.id)) == Set([first.id, second.id]))
    }
  }

  static let priceCases: [PriceCase] = [
    PriceCase(minimum: 200, maximum: nil, prices: [200, 300, 400]),
    PriceCase(minimum: nil, maximum: 200, prices: [100, 200]),
    PriceCase(minimum: 200, maximum: 300, prices: [200, 300]),
    PriceCase(minimum: 300, maximum: 300, prices: [300]),
    PriceCase(minimum: 0, maximum: nil, prices: [100, 200, 300, 400]),
    PriceCase(minimum: 401, maximum: nil, prices: []),
  ]

  static let priceFilter = priceCases.map { bounds in
    Case("price bounds are inclusive: \(bounds.testDescription)") { factory in
      try await factory.withStore { store in
        for price: Int64 in [400, 100, 300, 200] {
          _ = try await store.insert(.sample(priceCents: price))
        }
        let filter = ProductFilter(minPriceCents: bounds.minimum, maxPriceCents: bounds.maximum)
        let found = try await store.products(matching: filter, limit: 100)
        #expect(found.map(\.draft.priceCents).sorted() == bounds.prices)
      }
    }
  }

  static let queryProducts: [ProductDraft] = [
    .sample(name: "Ärmel Shirt", description: "Soft cotton sleeves"),
    .sample(name: "Kettle", description: "Boils water FAST"),
    .sample(name: "Garden Hose", description: "Twenty metres, green"),
  ]

  static let queryCases: [QueryCase] = [
    QueryCase(query: "ärmel", names: ["Ärmel Shirt"]),
    QueryCase(query: "ÄRMEL", names: ["Ärmel Shirt"]),
    QueryCase(query: "Ärmel", names: ["Ärmel Shirt"]),
    QueryCase(query: "SHIRT", names: ["Ärmel Shirt"]),
    QueryCase(query: "fast", names: ["Kettle"]),
    QueryCase(query: "boils WATER", names: ["Kettle"]),
    QueryCase(query: "Green", names: ["Garden Hose"]),
    QueryCase(query: "e", names: ["Ärmel Shirt", "Kettle", "Garden Hose"]),
    QueryCase(query: "", names: ["Ärmel Shirt", "Kettle", "Garden Hose"]),
    QueryCase(query: "sleeves kettle", names: []),
    QueryCase(query: "%", names: []),
    QueryCase(query: "_", names: []),
  ]

  static let queryFilter = queryCases.map { search in
    Case(
      "query matches name or description, ignoring case, non-ASCII letters included: \(search.testDescription)"
    ) { factory in
      try await factory.withStore { store in
        for draft in Self.queryProducts {
          _ = try await store.insert(draft)
        }
        let found = try await store.products(
          matching: ProductFilter(query: search.query),
          limit: 100
        )
        #expect(Set(found.map(\.draft.name)) == search.names)
      }
    }
  }

  static let combinedFilters = Case("filters combine: every condition must hold") { factory in
    try await factory.withStore { store in
      let match = try await store.insert(
        .sample(name: "Road Atlas", category: "books", priceCents: 1_500)
      )
      _ = try await store.insert(
        .sample(name: "Road Atlas XL", category: "books", priceCents: 4_500)
      )
      _ = try await store.insert(.sample(name: "Cookbook", category: "books", priceCents: 1_500))
      _ = try await store.insert(.sample(name: "Atlas Kite", category: "toys", priceCents: 1_500))
      let filter = ProductFilter(
        category: "books",
        query: "atlas",
        minPriceCents: 1_000,
        maxPriceCents: 2_000
      )
      let found = try await store.products(matching: filter, limit: 100)
      #expect(found.map(\.id) == [match.id])
    }
  }
}
