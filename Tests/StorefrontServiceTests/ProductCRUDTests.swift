import GRPCCore
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("Product CRUD over HTTP/2")
struct ProductCRUDTests {
  @Test("create assigns id, etag and times; get returns the same product")
  func createThenGet() async throws {
    try await TestServer.with { client, _ in
      let created = try await client.create(.sample(name: "Kettle"))
      #expect(!created.id.isEmpty)
      #expect(!created.etag.isEmpty)
      #expect(created.name == "Kettle")
      #expect(created.hasCreateTime && created.hasUpdateTime)
      let fetched = try await client.getProduct(.with { $0.id = created.id }).product
      #expect(fetched == created)
    }
  }

  @Test("get answers INVALID_ARGUMENT naming id for an empty id, NOT_FOUND for an unknown one")
  func getErrors() async throws {
    try await TestServer.with { client, _ in
      let fields = try await expectRPCError(.invalidArgument) {
        _ = try await client.getProduct(.with { $0.id = "" })
      }
      #expect(fields == ["id"])
      try await expectRPCError(.notFound) {
        _ = try await client.getProduct(.with { $0.id = "p_unknown" })
      }
    }
  }

  static let badProducts: [(String, @Sendable (inout Storefront_V1_Product) -> Void)] = [
    ("product.name", { $0.name = "" }),
    ("product.name", { $0.name = String(repeating: "n", count: 201) }),
    ("product.sku", { $0.sku = "" }),
    ("product.sku", { $0.sku = "has space" }),
    ("product.sku", { $0.sku = String(repeating: "s", count: 65) }),
    ("product.price_cents", { $0.priceCents = -1 }),
    ("product.currency", { $0.currency = "usd" }),
    ("product.currency", { $0.currency = "US" }),
    ("product.stock", { $0.stock = -3 }),
  ]

  @Test(
    "create answers INVALID_ARGUMENT with a BadRequest naming the field",
    arguments: badProducts
  )
  func createValidation(
    field: String,
    change: @Sendable (inout Storefront_V1_Product) -> Void
  ) async throws {
    try await TestServer.with { client, server in
      var product = Storefront_V1_Product.sample()
      change(&product)
      let fields = try await expectRPCError(.invalidArgument) {
        _ = try await client.create(product)
      }
      #expect(fields == [field])
      #expect(try await server.store.productCount() == 0)
    }
  }

  @Test("create answers ALREADY_EXISTS for a taken sku")
  func duplicateSKU() async throws {
    try await TestServer.with { client, _ in
      _ = try await client.create(.sample(sku: "DUP-1"))
      try await expectRPCError(.alreadyExists) {
        _ = try await client.create(.sample(sku: "DUP-1"))
      }
    }
  }

  @Test("update changes only the masked fields and the etag")
  func updateMasked() async throws {
    try await TestServer.with { client, _ in
      let created = try await client.create(.sample(name: "Before", priceCents: 100))
      var change = Storefront_V1_Product.sample(name: "Ignored", priceCents: 250)
      change.id = created.id
      change.etag = created.etag
      let updated = try await client.updateProduct(
        .with {
          $0.product = change
          $0.updateMask = Google_Protobuf_FieldMask(protoPaths: ["price_cents"])
        }
      ).product
      #expect(updated.priceCents == 250)
      #expect(updated.name == "Before")
      #expect(updated.sku == created.sku)
      #expect(updated.etag != created.etag)
      #expect(updated.updateTime.date >= created.updateTime.date)
    }
  }

  @Test("update with a stale etag answers ABORTED and changes nothing")
  func updateStaleETag() async throws {
    try await TestServer.with { client, _ in
      let created = try await client.create(.sample(priceCents: 100))
      var change = created
      change.priceCents = 1
      change.etag = "stale"
      try await expectRPCError(.aborted) {
        _ = try await client.updateProduct(
          .with {
            $0.product = change
            $0.updateMask = Google_Protobuf_FieldMask(protoPaths: ["price_cents"])
          }
        )
      }
      let fetched = try await client.getProduct(.with { $0.id = created.id }).product
      #expect(fetched == created)
    }
  }

  @Test("update rejects unknown mask paths, bad values and unknown ids")
  func updateErrors() async throws {
    try await TestServer.with { client, _ in
      let created = try await client.create()
      var change = created
      let maskFields = try await expectRPCError(.invalidArgument) {
        _ = try await client.updateProduct(
          .with {
            $0.product = change
            $0.updateMask = Google_Protobuf_FieldMask(protoPaths: ["id"])
          }
        )
      }
      #expect(maskFields == ["update_mask"])
      change.currency = "euro"
      let valueFields = try await expectRPCError(.invalidArgument) {
        _ = try await client.updateProduct(
          .with {
            $0.product = change
            $0.updateMask = Google_Protobuf_FieldMask(protoPaths: ["currency"])
          }
        )
      }
      #expect(valueFields == ["product.currency"])
      change.id = "p_missing"
      try await expectRPCError(.notFound) {
        _ = try await client.updateProduct(.with { $0.product = change })
      }
    }
  }

  @Test("delete checks the etag, then removes the product")
  func delete() async throws {
    try await TestServer.with { client, _ in
      let created = try await client.create()
      try await expectRPCError(.aborted) {
        _ = try await client.deleteProduct(
          .with {
            $0.id = created.id
            $0.etag = "stale"
          }
        )
      }
      _ = try await client.deleteProduct(
        .with {
          $0.id = created.id
          $0.etag = created.etag
        }
      )
      try await expectRPCError(.notFound) {
        _ = try await client.getProduct(.with { $0.id = created.id })
      }
      try await expectRPCError(.notFound) {
        _ = try await client.deleteProduct(.with { $0.id = created.id })
      }
    }
  }
}
