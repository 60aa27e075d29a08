import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("Access control: closed by default")
struct ClosedByDefaultTests {
  @Test("an RPC of ours missing from the access table is refused even to an admin")
  func unlistedMethodIsClosed() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-closed-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteStore(path: directory.appendingPathComponent("db.sqlite").path)
    defer { try? store.close() }
    let tokens = try await AccessTokens(key: AccessControlTests.key)
    try await store.insert(
      User(
        username: "root",
        role: .admin,
        passwordHash: try PasswordHasher(parameters: TestServer.cheapHashing).hash("password")
      )
    )
    let token = try await tokens.issue(for: Principal(username: "root", role: .admin)).token
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: "127.0.0.1", port: 0),
      transportSecurity: .plaintext
    )
    let server = GRPCServer(
      transport: transport,
      services: [UnlistedService()],
      interceptors: [
        StatusInterceptor(logger: Logger(label: "test") { _ in InMemoryLogHandler() }),
        AuthInterceptor(
          authenticator: Authenticator(users: store, tokens: tokens),
          policy: AccessPolicy()
        ),
      ]
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      let port = try #require(try await transport.listeningAddress.ipv4?.port)
      try await TestServer.withGRPC(port: port, token: token) { grpc in
        try await expectRPCError(.permissionDenied) {
          try await grpc.unary(
            request: ClientRequest(message: Google_Protobuf_Empty()),
            descriptor: UnlistedService.method,
            serializer: ProtobufSerializer<Google_Protobuf_Empty>(),
            deserializer: ProtobufDeserializer<Google_Protobuf_Empty>(),
            options: .defaults
          ) { response in
            _ = try response.message
          }
        }
      }
      server.beginGracefulShutdown()
    }
  }
}
