import Foundation
import PostgresNIO
public import StorefrontCore

extension PostgresStore: ImageStore {
  public func attach(_ images: [ImageRecord]) async throws {
    try await self.write { writer in
      let now = Self.now()
      for image in images {
        _ = try await Self.fetchProduct(
          writer.connection,
          id: image.productID,
          logger: writer.logger
        )
        try await writer.connection.run(
          """
          INSERT INTO image (id, product_id, filename, content_type, size_bytes, sha256, position)
          VALUES (\(image.id), \(image.productID), \(image.filename), \(image.contentType),
            \(image.sizeBytes), \(image.sha256),
            (SELECT COALESCE(MAX(position), 0) + 1 FROM image WHERE product_id = \(image.productID)))
          """,
          logger: writer.logger
        )
        try await Self.touch(writer, id: image.productID, at: now)
      }
      // One change per product, showing all of its new images.
      var logged: Set<String> = []
      for image in images where logged.insert(image.productID).inserted {
        try await Self.recordChange(.updated, of: image.productID, at: now, with: writer)
      }
    }
  }

  public func image(id: String) async throws -> ImageRecord {
    guard !Self.containsNUL(id) else { throw StorefrontError.notFound("image", id: id) }
    let logger = self.logger
    return try await self.read { connection in
      guard
        let row = try await connection.rows(
          "SELECT * FROM image WHERE id = \(id)",
          logger: logger
        ).first
      else { throw StorefrontError.notFound("image", id: id) }
      return ImageRecord(
        id: try row["id"].decode(String.self),
        productID: try row["product_id"].decode(String.self),
        filename: try row["filename"].decode(String.self),
        contentType: try row["content_type"].decode(String.self),
        sizeBytes: try row["size_bytes"].decode(Int64.self),
        sha256: try row["sha256"].decode(String.self)
      )
    }
  }

  public func referencedImageHashes() async throws -> Set<String> {
    let logger = self.logger
    return try await self.read { connection in
      Set(
        try await connection.rows("SELECT DISTINCT sha256 FROM image", logger: logger)
          .map { try $0["sha256"].decode(String.self) }
      )
    }
  }
}
