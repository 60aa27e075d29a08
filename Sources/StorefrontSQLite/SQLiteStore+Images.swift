import Foundation
import GRDB
public import StorefrontCore

extension SQLiteStore: ImageStore {
  public func attach(_ images: [ImageRecord]) async throws {
    try await self.write { db in
      let now = Self.now()
      for image in images {
        try Self.attach(image, in: db, at: now)
      }
      // One change per product, showing all of its new images.
      var logged: Set<String> = []
      for image in images where logged.insert(image.productID).inserted {
        try Self.recordChange(.updated, of: image.productID, at: now, in: db)
      }
    }
  }

  private static func attach(_ image: ImageRecord, in db: Database, at now: Date) throws {
    _ = try Self.fetchProduct(db, id: image.productID)
    try db.execute(
      cached: """
        INSERT INTO image (id, product_id, filename, content_type, size_bytes, sha256, position)
        VALUES (?, ?, ?, ?, ?, ?,
          (SELECT COALESCE(MAX(position), 0) + 1 FROM image WHERE product_id = ?))
        """,
      arguments: [
        image.id, image.productID, image.filename, image.contentType, image.sizeBytes,
        image.sha256, image.productID,
      ]
    )
    try Self.touch(db, id: image.productID, at: now)
  }

  public func image(id: String) async throws -> ImageRecord {
    guard !Self.containsNUL(id) else { throw StorefrontError.notFound("image", id: id) }
    return try await self.read { db in
      let row = try Row.fetchOne(
        db.cachedStatement(sql: "SELECT * FROM image WHERE id = ?"),
        arguments: [id]
      )
      guard let row else { throw StorefrontError.notFound("image", id: id) }
      return ImageRecord(
        id: row["id"],
        productID: row["product_id"],
        filename: row["filename"],
        contentType: row["content_type"],
        sizeBytes: row["size_bytes"],
        sha256: row["sha256"]
      )
    }
  }

  public func referencedImageHashes() async throws -> Set<String> {
    try await self.read { db in
      Set(try String.fetchAll(db.cachedStatement(sql: "SELECT DISTINCT sha256 FROM image")))
    }
  }
}
