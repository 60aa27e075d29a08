import Foundation
import StorefrontAPI
import SwiftProtobuf
import Testing

@testable import storefront

@Suite("Proto JSON")
struct ProtoJSONTests {
  static func object(_ message: some SwiftProtobuf.Message) throws -> [String: Any] {
    let json = try ProtoJSON.string(message)
    return try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
  }

  @Test("zero and empty fields are printed; int64 stays a string, as the mapping writes it")
  func defaults() throws {
    let product = Storefront_V1_Product.with {
      $0.id = "p_1"
      $0.priceCents = 1_299
    }
    let object = try Self.object(product)
    #expect(object["id"] as? String == "p_1")
    #expect(object["priceCents"] as? String == "1299")
    #expect(object["stock"] as? Int == 0)
    #expect(object["description"] as? String == "")
    #expect((object["imageIds"] as? [Any])?.isEmpty == true)
    #expect(object["createTime"] == nil, "an unset message stays out")
    let zero = try Self.object(Storefront_V1_Product())
    #expect(zero["priceCents"] as? String == "0")
  }

  @Test("fields come in declaration order and the text reads back as the same message")
  func order() throws {
    let product = Storefront_V1_Product.with {
      $0.id = "p_1"
      $0.sku = "A"
      $0.stock = 3
      $0.imageIds = ["i_1"]
      $0.createTime = Google_Protobuf_Timestamp(seconds: 1_700_000_000)
    }
    let json = try ProtoJSON.string(product)
    #expect(json.hasPrefix(#"{"id":"p_1","sku":"A","name":"","#))
    #expect(json.contains(#""createTime":"2023-11-14T22:13:20Z""#))
    #expect(try Storefront_V1_Product(jsonString: json) == product)
  }

  @Test("nested messages and enums are filled in too; optional fields stay out when unset")
  func nested() throws {
    let change = Storefront_V1_ProductChange.with {
      $0.sequence = 7
      $0.product = .with { $0.id = "p_1" }
    }
    let object = try Self.object(change)
    #expect(object["sequence"] as? String == "7")
    #expect(object["kind"] as? String == "KIND_UNSPECIFIED")
    let product = try #require(object["product"] as? [String: Any])
    #expect(product["stock"] as? Int == 0)
    let request = try Self.object(Storefront_V1_ProductRequest())
    #expect(request["minPriceCents"] == nil)
    #expect(request["pageSize"] as? Int == 0)
  }

  @Test("a message with no fields is an empty object")
  func empty() throws {
    #expect(try ProtoJSON.string(Storefront_V1_DeleteProductResponse()) == "{}")
  }
}
