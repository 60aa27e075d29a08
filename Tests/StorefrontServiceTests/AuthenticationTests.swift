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

typealias AuthClient = Storefront_V1_AuthService.Client<HTTP2ClientTransport.Posix>

extension AuthClient {
  func login(
    _ username: String,
    _ password: String = TestServer.password
  ) async throws
    -> Storefront_V1_LoginResponse
  {
    try await self.login(
      .with {
        $0.username = username
        $0.password = password
      }
    )
  }
}

@Suite("Sign-in and tokens over HTTP/2")
struct AuthenticationTests {
  @Test("Login issues a token that works for the user's role, with its expiry and role")
  func login() async throws {
    try await TestServer.with { _, server in
      _ = try await TestServer.token(for: "stella", role: .staff, on: server)
      let port = try await server.listeningPort
      try await TestServer.withGRPC(port: port) { grpc in
        let before = Date()
        let response = try await AuthClient(wrapping: grpc).login("stella")
        let after = Date()
        #expect(response.role == "staff")
        #expect(response.tokenType == "Bearer")
        // An hour from issue, rounded down to the second.
        let expiry = response.expireTime.date
        #expect(
          expiry > before.addingTimeInterval(3_599) && expiry <= after.addingTimeInterval(3_600)
        )
        try await TestServer.withClient(port: port, token: response.accessToken) { staff in
          let created = try await staff.create()
          #expect(try await server.store.product(id: created.id).id == created.id)
        }
      }
    }
  }

  @Test("a wrong password, an unknown user and a disabled user get the same UNAUTHENTICATED")
  func wrongCredentials() async throws {
    try await TestServer.with { _, server in
      _ = try await TestServer.token(for: "stella", role: .staff, on: server)
      _ = try await TestServer.token(for: "gone", role: .staff, on: server)
      try await server.store.setEnabled(false, username: "gone")
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let auth = AuthClient(wrapping: grpc)
        var messages: Set<String> = []
        for (username, password) in [
          ("stella", "wrong password"), ("nobody", TestServer.password),
          ("gone", TestServer.password),
        ] {
          do {
            _ = try await auth.login(username, password)
            Issue.record("\(username) signed in")
          } catch let error as RPCError {
            #expect(error.code == .unauthenticated)
            messages.insert(error.message)
          }
        }
        #expect(messages == ["wrong username or password"])
        let fields = try await expectRPCError(.invalidArgument) {
          _ = try await auth.login(.with { _ in })
        }
        #expect(fields == ["username", "password"])
      }
    }
  }

  @Test("repeated failures lock a username out with RetryInfo; others and later attempts go on")
  func throttling() async throws {
    let quick: (inout StorefrontServer.Configuration) -> Void = {
      $0.auth.throttle = LoginThrottle.Configuration(
        freeFailures: 3,
        baseLockout: .milliseconds(800)
      )
    }
    try await TestServer.with(configure: quick) { _, server in
      _ = try await TestServer.token(for: "victim", role: .staff, on: server)
      _ = try await TestServer.token(for: "bystander", role: .staff, on: server)
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let auth = AuthClient(wrapping: grpc)
        for _ in 0 ..< 3 {
          try await expectRPCError(.unauthenticated) { _ = try await auth.login("victim", "guess") }
        }
        // The fourth failure starts the lockout; while it lasts, even the right password is
        // refused, with the time to wait.
        for password in ["guess", TestServer.password] {
          do {
            _ = try await auth.login("victim", password)
            Issue.record("signed in during a lockout")
          } catch let error as RPCError {
            #expect(error.code == .resourceExhausted)
            let status = try #require(try error.unpackGoogleRPCStatus())
            let delay = try #require(status.details.compactMap(\.retryInfo).first).delay
            #expect(delay > .zero && delay <= .milliseconds(800))
          }
        }
        _ = try await auth.login("bystander")
        try await Task.sleep(for: .milliseconds(900))
        let response = try await auth.login("victim")
        #expect(response.role == "staff")
      }
    }
  }

  @Test("a disabled user's token stops working within the user cache time")
  func disabledUser() async throws {
    let shortCache: (inout StorefrontServer.Configuration) -> Void = {
      $0.auth.userCacheTime = .milliseconds(300)
    }
    try await TestServer.with(configure: shortCache) { _, server in
      let token = try await TestServer.token(for: "leaver", role: .staff, on: server)
      try await TestServer.withClient(port: try await server.listeningPort, token: token) {
        staff in
        _ = try await staff.create()
        try await server.store.setEnabled(false, username: "leaver")
        try await Task.sleep(for: .milliseconds(400))
        let before = try await server.store.productCount()
        try await expectRPCError(.unauthenticated) { _ = try await staff.create() }
        try await expectRPCError(.unauthenticated) {
          _ = try await staff.getProduct(.with { $0.id = "p_any" })
        }
        #expect(try await server.store.productCount() == before)
      }
    }
  }

  @Test("with --require-auth-for-reads, reads need a token of any role")
  func readsNeedAuth() async throws {
    let readsNeedAuth: (inout StorefrontServer.Configuration) -> Void = {
      $0.auth.requireAuthForReads = true
    }
    try await TestServer.with(configure: readsNeedAuth) { admin, server in
      let product = try await admin.create()
      let port = try await server.listeningPort
      try await TestServer.withClient(port: port) { anonymous in
        try await expectRPCError(.unauthenticated) {
          _ = try await anonymous.getProduct(.with { $0.id = product.id })
        }
        try await expectRPCError(.unauthenticated) {
          try await anonymous.listProducts(
            .with { _ in },
            onResponse: { response in
              for try await _ in response.messages {}
            }
          )
        }
      }
      let token = try await TestServer.token(for: "reader", role: .shopper, on: server)
      try await TestServer.withClient(port: port, token: token) { shopper in
        let read = try await shopper.getProduct(.with { $0.id = product.id }).product
        #expect(read.id == product.id)
      }
    }
  }

  @Test("health and reflection stay open without a token")
  func standardServicesOpen() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let health = Grpc_Health_V1_Health.Client(wrapping: grpc)
        let answer = try await health.check(.with { $0.service = "" })
        #expect(answer.status == .serving)
      }
    }
  }
}
