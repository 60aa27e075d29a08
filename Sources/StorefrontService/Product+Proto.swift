import Foundation
import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

extension Storefront_V1_Product {
  /// The wire form of a stored product.
  init(_ product: Product) {
    self.init()
    self.id = product.id
    self.sku = product.draft.sku
    self.name = product.draft.name
    self.description_p = product.draft.description
    self.category = product.draft.category
    self.priceCents = product.draft.priceCents
    self.currency = product.draft.currency
    self.stock = product.draft.stock
    self.imageIds = product.imageIDs
    self.createTime = Google_Protobuf_Timestamp(date: product.createTime)
    self.updateTime = Google_Protobuf_Timestamp(date: product.updateTime)
    self.etag = product.etag
  }

  /// The client-writable fields.
  var draft: ProductDraft {
    ProductDraft(
      sku: self.sku,
      name: self.name,
      description: self.description_p,
      category: self.category,
      priceCents: self.priceCents,
      currency: self.currency,
      stock: self.stock
    )
  }
}

extension Storefront_V1_ProductResponse {
  init(_ product: Product) {
    self.init()
    self.product = Storefront_V1_Product(product)
  }
}

extension Storefront_V1_ChatMessage {
  /// The wire form of a chat record.
  init(_ record: ChatRecord) {
    self.init()
    self.room = record.room
    self.sender = record.sender
    self.text = record.text
    self.kind = Storefront_V1_ChatMessage.Kind(rawValue: record.kind.rawValue) ?? .system
    self.sequence = record.sequence
    self.sentTime = Google_Protobuf_Timestamp(date: record.sentTime)
  }
}

extension Storefront_V1_UploadedImage {
  init(_ image: ImageRecord) {
    self.init()
    self.imageID = image.id
    self.productID = image.productID
    self.filename = image.filename
    self.contentType = image.contentType
    self.sizeBytes = image.sizeBytes
    self.sha256 = image.sha256
  }
}
