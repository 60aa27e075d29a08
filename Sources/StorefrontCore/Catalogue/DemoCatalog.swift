/// Deterministic, realistic sample products for demos and benchmarks: the same `count` always
/// gives the same products.
public enum DemoCatalog {
  private struct Category {
    var name: String
    var nouns: [String]
    var priceRange: ClosedRange<Int64>
  }

  private static let categories: [Category] = [
    Category(
      name: "books",
      nouns: ["Novel", "Cookbook", "Atlas", "Field Guide", "Anthology"],
      priceRange: 599 ... 4_999
    ),
    Category(
      name: "electronics",
      nouns: ["Headphones", "Speaker", "Charger", "Keyboard", "Monitor"],
      priceRange: 1_499 ... 89_999
    ),
    Category(
      name: "kitchen",
      nouns: ["Skillet", "Kettle", "Knife Set", "Cutting Board", "Espresso Cup"],
      priceRange: 899 ... 24_999
    ),
    Category(
      name: "garden",
      nouns: ["Trowel", "Planter", "Hose", "Pruner", "Seed Kit"],
      priceRange: 499 ... 12_999
    ),
    Category(
      name: "toys",
      nouns: ["Puzzle", "Kite", "Building Set", "Plush Bear", "Yo-yo"],
      priceRange: 399 ... 7_999
    ),
    Category(
      name: "sports",
      nouns: ["Yoga Mat", "Water Bottle", "Jump Rope", "Tennis Racket", "Helmet"],
      priceRange: 699 ... 19_999
    ),
    Category(
      name: "clothing",
      nouns: ["T-Shirt", "Hoodie", "Scarf", "Rain Jacket", "Socks"],
      priceRange: 999 ... 14_999
    ),
    Category(
      name: "beauty",
      nouns: ["Soap", "Face Cream", "Shampoo", "Lip Balm", "Hand Lotion"],
      priceRange: 299 ... 5_999
    ),
    Category(
      name: "office",
      nouns: ["Notebook", "Fountain Pen", "Desk Lamp", "Stapler", "Planner"],
      priceRange: 249 ... 9_999
    ),
    Category(
      name: "outdoors",
      nouns: ["Tent", "Lantern", "Sleeping Bag", "Compass", "Backpack"],
      priceRange: 1_299 ... 39_999
    ),
  ]

  private static let adjectives = [
    "Classic", "Compact", "Deluxe", "Everyday", "Handmade", "Lightweight", "Modern", "Organic",
    "Rugged", "Vintage", "Wireless", "Cozy", "Bright", "Quiet", "Sturdy", "Travel",
  ]

  private static let colors = [
    "red", "blue", "green", "charcoal", "sand", "teal", "amber", "ivory", "plum", "slate",
  ]

  /// The product at `index` (0-based) of the demo catalogue.
  public static func product(at index: Int) -> ProductDraft {
    var random = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
    let category = Self.categories[index % Self.categories.count]
    let adjective = Self.adjectives[Int(random.next() % UInt64(Self.adjectives.count))]
    let noun = category.nouns[Int(random.next() % UInt64(category.nouns.count))]
    let color = Self.colors[Int(random.next() % UInt64(Self.colors.count))]
    let span = UInt64(category.priceRange.upperBound - category.priceRange.lowerBound)
    let price = category.priceRange.lowerBound + Int64(random.next() % (span + 1))
    return ProductDraft(
      sku: "DEMO-\(String(category.name.prefix(3)).uppercased())-\(index + 1)",
      name: "\(adjective) \(noun) #\(index + 1)",
      description: "\(adjective) \(noun.lowercased()) in \(color), from our "
        + "\(category.name) range.",
      category: category.name,
      priceCents: price / 100 * 100 + 99,
      currency: "USD",
      stock: Int32(random.next() % 500)
    )
  }

  /// The first `count` products of the demo catalogue.
  public static func products(count: Int) -> some Sequence<ProductDraft> {
    (0 ..< max(0, count)).lazy.map { Self.product(at: $0) }
  }
}

/// A small, fast, seedable generator (SplitMix64) for deterministic sample data.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) {
    self.state = seed
  }

  mutating func next() -> UInt64 {
    self.state &+= 0x9E37_79B9_7F4A_7C15
    var z = self.state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
