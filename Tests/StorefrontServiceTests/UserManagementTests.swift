import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("User management and the token key")
struct UserManagementTests {
  @Test(
    "CreateUser checks every field; a taken name is ALREADY_EXISTS; DisableUser an unknown one NOT_FOUND"
  )
  func validation() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(
        port: try await server.listeningPort,
        token: try await TestServer.token(for: TestServer.adminUsername, role: .admin, on: server)
      ) { grpc in
        let users = Storefront_V1_UserService.Client(wrapping: grpc)
        let cases: [(String, String, String, String)] = [
          ("Bad Name", "staff", "a long password", "username"),
          ("good-name", "owner", "a long password", "role"),
          ("good-name", "staff", "short", "password"),
        ]
        for (username, role, password, field) in cases {
          let fields = try await expectRPCError(.invalidArgument) {
            _ = try await users.createUser(
              .with {
                $0.username = username
                $0.role = role
                $0.password = password
              }
            )
          }
          #expect(fields == [field])
        }
        try await expectRPCError(.alreadyExists) {
          _ = try await users.createUser(
            .with {
              $0.username = TestServer.adminUsername
              $0.role = "shopper"
              $0.password = "a long password"
            }
          )
        }
        try await expectRPCError(.notFound) {
          _ = try await users.disableUser(.with { $0.username = "nobody" })
        }
        let listed = try await users.listUsers(.with { _ in }).users
        #expect(listed.map(\.username) == [TestServer.adminUsername])
        #expect(try await server.store.user(named: TestServer.adminUsername)?.role == .admin)
      }
    }
  }

  @Test("a token key file shorter than 32 bytes stops the server from starting")
  func shortKey() async throws {
    let file = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-short-key-\(UUID().uuidString)")
    try Data("too short".utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let shortKeyFile: (inout StorefrontServer.Configuration) -> Void = {
      $0.auth.tokenKeyFile = file
    }
    await #expect(throws: StorefrontError.self) {
      try await TestServer.with(configure: shortKeyFile) { _, _ in }
    }
  }
}
