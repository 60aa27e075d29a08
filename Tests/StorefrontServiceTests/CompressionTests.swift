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

@Suite("Compression over HTTP/2")
struct CompressionTests {
  /// Calls GetProduct with a gzip-compressed request on a server configured by `configure`.
  static func compressedGet(
    configure: @escaping (inout StorefrontServer.Configuration) -> Void
  ) async throws -> RPCError.Code? {
    var code: RPCError.Code?
    try await TestServer.with(configure: configure) { client, server in
      let product = try await client.create()
      var config = HTTP2ClientTransport.Posix.Config.defaults
      config.compression = .init(algorithm: .gzip, enabledAlgorithms: [.gzip, .deflate])
      try await withGRPCClient(
        transport: .http2NIOPosix(
          target: .ipv4(address: "127.0.0.1", port: try await server.listeningPort),
          transportSecurity: .plaintext,
          config: config
        )
      ) { grpc in
        var options = CallOptions.defaults
        options.compression = .gzip
        do {
          let found = try await ProductClient(wrapping: grpc).getProduct(
            .with { $0.id = product.id },
            options: options
          )
          #expect(found.product == product)
        } catch let error as RPCError {
          code = error.code
        }
      }
    }
    return code
  }

  @Test("with compression enabled, a gzip-compressed request is served")
  func gzipAccepted() async throws {
    let code = try await Self.compressedGet { $0.transport.compression = true }
    #expect(code == nil)
  }

  @Test("by default a compressed request is refused: the transport leaks on them")
  func gzipRefusedByDefault() async throws {
    let code = try await Self.compressedGet { _ in }
    #expect(code == .unimplemented)
  }
}
