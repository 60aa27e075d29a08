import NIOCore
import PostgresNIO
import StorefrontCore

extension PostgresStore {
  /// The key that signs access tokens, shared by every replica: the first replica to ask
  /// stores `generate()`'s key, every later one reads it.
  /// - Returns: the key, and whether this call created it.
  public func sharedTokenKey(
    generate: @escaping @Sendable () -> [UInt8]
  ) async throws -> (key: [UInt8], created: Bool) {
    let logger = self.logger
    return try await self.writeUnlogged { connection in
      let created = try await connection.rows(
        """
        INSERT INTO storefront_secret (name, value)
        VALUES ('token-key', \(ByteBuffer(bytes: generate())))
        ON CONFLICT (name) DO NOTHING RETURNING name
        """,
        logger: logger
      )
      let rows = try await connection.rows(
        "SELECT value FROM storefront_secret WHERE name = 'token-key'",
        logger: logger
      )
      guard var value = try rows.first?["value"].decode(ByteBuffer.self) else {
        throw StorefrontError(code: .internalError, message: "the token key is missing")
      }
      return (value.readBytes(length: value.readableBytes) ?? [], !created.isEmpty)
    }
  }
}
