import GRPCCore
public import StorefrontAPI
import SwiftProtobuf

extension StorefrontClient {
  /// The product with this id.
  public func product(id: String) async throws -> Storefront_V1_Product {
    try await self.call {
      try await self.products.getProduct(.with { $0.id = id }, options: self.unaryOptions).product
    }
  }

  /// Creates `product` (its id, etag and times are the server's) and answers it as stored.
  public func createProduct(_ product: Storefront_V1_Product) async throws -> Storefront_V1_Product
  {
    try await self.call {
      try await self.products.createProduct(
        .with { $0.product = product },
        options: self.unaryOptions
      ).product
    }
  }

  /// Changes the `fields` of the product with `product.id` (every writable field when
  /// empty) to `product`'s values. A non-empty `product.etag` must be the current one, or
  /// the call fails `ABORTED` and changes nothing.
  /// - Parameter fields: protobuf field names: `name`, `price_cents`, `stock`, ...
  public func updateProduct(
    _ product: Storefront_V1_Product,
    fields: [String] = []
  ) async throws -> Storefront_V1_Product {
    try await self.call {
      try await self.products.updateProduct(
        .with {
          $0.product = product
          $0.updateMask = Google_Protobuf_FieldMask(protoPaths: fields)
        },
        options: self.unaryOptions
      ).product
    }
  }

  /// Deletes the product with this id, with its images; a non-empty `etag` must be the
  /// current one.
  public func deleteProduct(id: String, etag: String = "") async throws {
    _ = try await self.call {
      try await self.products.deleteProduct(
        .with {
          $0.id = id
          $0.etag = etag
        },
        options: self.unaryOptions
      )
    }
  }

  /// The products matching `query`, in id order, as they stream in: fetched `pageSize` at
  /// a time, each page resuming after the last id seen, so a page that fails for a moment
  /// is retried from where it stopped and no page is held in memory twice.
  public func products(
    _ query: ProductQuery = ProductQuery(),
    pageSize: Int = 500
  )
    -> ProductListing
  {
    ProductListing(client: self, query: query, pageSize: max(1, pageSize))
  }
}

/// What ``StorefrontClient/products(_:pageSize:)`` lists.
public struct ProductQuery: Sendable, Hashable {
  /// Only this category (all when empty).
  public var category: String
  /// Only products whose name or description contains this, in any case.
  public var text: String
  /// Only products at this price or above, in cents.
  public var minPriceCents: Int64?
  /// Only products at this price or below, in cents.
  public var maxPriceCents: Int64?
  /// At most this many products (nil: all).
  public var limit: Int?
  /// Only products after this id: where an earlier listing stopped.
  public var afterID: String

  public init(
    category: String = "",
    text: String = "",
    minPriceCents: Int64? = nil,
    maxPriceCents: Int64? = nil,
    limit: Int? = nil,
    afterID: String = ""
  ) {
    self.category = category
    self.text = text
    self.minPriceCents = minPriceCents
    self.maxPriceCents = maxPriceCents
    self.limit = limit
    self.afterID = afterID
  }

  /// The request for the page of `size` products after `afterID`.
  func request(afterID: String, size: Int) -> Storefront_V1_ProductRequest {
    .with {
      $0.category = self.category
      $0.query = self.text
      if let minPriceCents = self.minPriceCents { $0.minPriceCents = minPriceCents }
      if let maxPriceCents = self.maxPriceCents { $0.maxPriceCents = maxPriceCents }
      $0.pageSize = Int32(clamping: size)
      $0.afterID = afterID
    }
  }
}

/// The products of a query, in id order, fetched a page at a time as they are iterated.
public struct ProductListing: AsyncSequence, Sendable {
  public typealias Element = Storefront_V1_Product

  let client: StorefrontClient
  let query: ProductQuery
  let pageSize: Int

  public func makeAsyncIterator() -> Iterator {
    Iterator(listing: self, afterID: self.query.afterID, remaining: self.query.limit)
  }

  /// Hands out one page, then fetches the next after its last id.
  public struct Iterator: AsyncIteratorProtocol {
    let listing: ProductListing
    var afterID: String
    var remaining: Int?
    var page: [Storefront_V1_Product] = []
    var index = 0
    var finished = false

    init(listing: ProductListing, afterID: String, remaining: Int?) {
      self.listing = listing
      self.afterID = afterID
      self.remaining = remaining
    }

    public mutating func next() async throws -> Storefront_V1_Product? {
      if self.index == self.page.count {
        guard !self.finished, self.remaining.map({ $0 > 0 }) ?? true else { return nil }
        let size = Swift.min(self.listing.pageSize, self.remaining ?? .max)
        let request = self.listing.query.request(afterID: self.afterID, size: size)
        let client = self.listing.client
        self.page = try await client.call {
          try await client.products.listProducts(request) { response in
            var products: [Storefront_V1_Product] = []
            for try await message in response.messages {
              products.append(message.product)
            }
            return products
          }
        }
        self.index = 0
        // A short page is the last one.
        self.finished = self.page.count < size
        guard let last = self.page.last else { return nil }
        self.afterID = last.id
        self.remaining = self.remaining.map { $0 - self.page.count }
      }
      defer { self.index += 1 }
      return self.page[self.index]
    }
  }
}
