public import Foundation

/// A product of the catalogue, as stored.
public struct Product: Hashable, Sendable {
  /// Server-assigned, opaque, sortable identifier.
  public var id: String
  /// The fields a client writes.
  public var draft: ProductDraft
  /// Image ids, oldest first.
  public var imageIDs: [String]
  public var createTime: Date
  public var updateTime: Date
  /// Changes on every write.
  public var etag: String

  public init(
    id: String,
    draft: ProductDraft,
    imageIDs: [String] = [],
    createTime: Date,
    updateTime: Date,
    etag: String
  ) {
    self.id = id
    self.draft = draft
    self.imageIDs = imageIDs
    self.createTime = createTime
    self.updateTime = updateTime
    self.etag = etag
  }
}

/// The client-writable fields of a product.
public struct ProductDraft: Hashable, Sendable {
  public var sku: String
  public var name: String
  public var description: String
  public var category: String
  /// Minor units of ``currency``.
  public var priceCents: Int64
  /// ISO 4217 code.
  public var currency: String
  public var stock: Int32

  public init(
    sku: String,
    name: String,
    description: String = "",
    category: String = "",
    priceCents: Int64,
    currency: String = "USD",
    stock: Int32 = 0
  ) {
    self.sku = sku
    self.name = name
    self.description = description
    self.category = category
    self.priceCents = priceCents
    self.currency = currency
    self.stock = stock
  }
}
