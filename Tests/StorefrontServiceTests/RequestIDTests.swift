import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

@Suite("Request ids over HTTP/2")
struct RequestIDTests {
  /// The request ids in the trailers of a failed GetProduct.
  private func requestIDs(
    _ client: ProductClient,
    id: String,
    metadata: Metadata = [:]
  ) async throws -> [String] {
    do {
      _ = try await client.getProduct(.with { $0.id = id }, metadata: metadata)
      Issue.record("expected the call to fail")
      return []
    } catch let error as RPCError {
      return Array(error.metadata[stringValues: AccessLogInterceptor.requestIDKey])
    }
  }

  @Test("an error response carries the request id the client sent")
  func errorCarriesClientRequestID() async throws {
    try await TestServer.with { client, _ in
      let ids = try await self.requestIDs(
        client,
        id: "p_missing",
        metadata: ["x-request-id": "req-from-client-42"]
      )
      #expect(ids == ["req-from-client-42"])
    }
  }

  @Test("an error response without a client request id gets a fresh one")
  func errorGetsFreshRequestID() async throws {
    try await TestServer.with { client, _ in
      let ids = try await self.requestIDs(client, id: "")
      #expect(ids.count == 1)
      #expect(ids.first?.hasPrefix("req") == true)
    }
  }
}
