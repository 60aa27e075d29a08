import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Metrics over HTTP")
struct MetricsTests {
  /// GETs `path` from the metrics endpoint; the status and the body.
  static func get(_ path: String, port: Int) async throws -> (Int, String) {
    let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
    let (data, response) = try await URLSession.shared.data(from: url)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }

  @Test("GET /metrics shows each RPC by method and code, latency, store and upload bytes")
  func scrape() async throws {
    let withMetrics: (inout StorefrontServer.Configuration) -> Void = { $0.metricsPort = 0 }
    try await TestServer.with(configure: withMetrics) { client, server in
      let port = try #require(server.metricsPort)
      let product = try await client.create()
      try await expectRPCError(.notFound) {
        _ = try await client.getProduct(.with { $0.id = "p_missing" })
      }
      _ = try await client.uploadProductImages { writer in
        try await writer.write(UploadProductImagesTests.metadata(product.id))
        try await writer.write(
          contentsOf: UploadProductImagesTests.chunks(UploadProductImagesTests.png)
        )
      }
      let (status, body) = try await Self.get("/metrics", port: port)
      #expect(status == 200)
      let lines = Set(body.split(separator: "\n").map(String.init))
      #expect(
        lines.contains(
          #"storefront_rpc_handled_total{method="storefront.v1.ProductService/CreateProduct",code="OK"} 1"#
        )
      )
      #expect(
        lines.contains(
          #"storefront_rpc_handled_total{method="storefront.v1.ProductService/GetProduct",code="NOT_FOUND"} 1"#
        )
      )
      #expect(
        lines.contains(
          "storefront_image_upload_bytes_total \(UploadProductImagesTests.png.count)"
        )
      )
      #expect(
        body.contains(
          #"storefront_rpc_duration_seconds_count{method="storefront.v1.ProductService/CreateProduct",code="OK"} 1"#
        )
      )
      #expect(body.contains(#"storefront_store_query_duration_seconds_count{kind="write"}"#))
      #expect(lines.contains("storefront_chat_rooms 0.0"))
      let (missing, _) = try await Self.get("/other", port: port)
      #expect(missing == 404)
    }
  }
}
