public import Foundation
public import StorefrontCore

extension ProductDraft {
  /// A valid draft with a sku of its own; tests set only what they look at.
  public static func sample(
    sku: String = "SKU-" + UUID().uuidString,
    name: String = "Sample product",
    description: String = "",
    category: String = "misc",
    priceCents: Int64 = 1_000,
    stock: Int32 = 1
  ) -> ProductDraft {
    ProductDraft(
      sku: sku,
      name: name,
      description: description,
      category: category,
      priceCents: priceCents,
      currency: "USD",
      stock: stock
    )
  }
}

extension ImageRecord {
  /// An image of `productID` whose bytes have the hash `sha256`.
  public static func sample(id: String, productID: String, sha256: String) -> ImageRecord {
    ImageRecord(
      id: id,
      productID: productID,
      filename: "\(id).png",
      contentType: "image/png",
      sizeBytes: 1_234,
      sha256: sha256
    )
  }
}

extension ChatRecord {
  /// A message of `room`, sent at a whole second so that it survives storage unchanged.
  public static func sample(room: String, sequence: Int64) -> ChatRecord {
    ChatRecord(
      room: room,
      sender: "ada",
      text: "message \(sequence)",
      kind: .message,
      sequence: sequence,
      sentTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(sequence))
    )
  }
}

/// A made-up SHA-256: 64 copies of `character`.
public func fakeSHA256(_ character: Character) -> String {
  String(repeating: character, count: 64)
}

/// The bytes of a file the server takes as a PNG image: the PNG signature, then `count`
/// bytes of filler.
public func pngBytes(_ count: Int = 5_000) -> [UInt8] {
  [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: count)
}
