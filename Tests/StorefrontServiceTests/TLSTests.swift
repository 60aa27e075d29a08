import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

@Suite("TLS and mutual TLS over HTTP/2")
struct TLSTests {
  /// Client security trusting `ca`, presenting `certificate` and `key` when given.
  static func tls(
    trusting ca: String,
    certificate: String? = nil,
    key: String? = nil
  ) -> HTTP2ClientTransport.Posix.TransportSecurity {
    .tls { config in
      config.trustRoots = .certificates([.file(path: ca, format: .pem)])
      if let certificate, let key {
        config.certificateChain = [.file(path: certificate, format: .pem)]
        config.privateKey = .file(path: key, format: .pem)
      }
    }
  }

  /// Whether a staff user can sign in and create a product over `security`: nil when it
  /// worked, else the status.
  static func signInAndWrite(
    port: Int,
    security: HTTP2ClientTransport.Posix.TransportSecurity
  ) async throws -> RPCError.Code? {
    var options = CallOptions.defaults
    // Generous: a handshake and a sign-in take seconds under ThreadSanitizer.
    options.timeout = .seconds(20)
    do {
      try await TestServer.withGRPC(port: port, security: security) { grpc in
        let login = try await AuthClient(wrapping: grpc).login(
          .with {
            $0.username = "tls-staff"
            $0.password = TestServer.password
          },
          options: options
        )
        _ = try await ProductClient(wrapping: grpc).createProduct(
          .with { $0.product = .sample() },
          metadata: .bearer(login.accessToken),
          options: options
        )
      }
      return nil
    } catch let error as RPCError {
      return error.code
    }
  }

  @Test("over TLS a client trusting the CA signs in and writes; plaintext and strangers fail")
  func tls() async throws {
    let certificates = try TestCertificates.make()
    defer { certificates.remove() }
    let configure: (inout StorefrontServer.Configuration) -> Void = {
      $0.tls = TLSSettings(
        certificateChainFile: certificates.serverCertificate,
        privateKeyFile: certificates.serverKey
      )
    }
    try await TestServer.with(
      configure: configure,
      client: Self.tls(trusting: certificates.caCertificate)
    ) { admin, server in
      _ = try await TestServer.token(for: "tls-staff", role: .staff, on: server)
      let port = try await server.listeningPort
      let before = try await server.store.productCount()
      #expect(
        try await Self.signInAndWrite(
          port: port,
          security: Self.tls(trusting: certificates.caCertificate)
        ) == nil
      )
      #expect(try await server.store.productCount() == before + 1)
      // A plaintext client, or one that trusts another CA, gets no answer from the server.
      #expect(try await Self.signInAndWrite(port: port, security: .plaintext) == .unavailable)
      #expect(
        try await Self.signInAndWrite(
          port: port,
          security: Self.tls(trusting: certificates.clientCA)
        ) == .unavailable
      )
      #expect(try await server.store.productCount() == before + 1)
      _ = try await admin.create()
    }
  }

  @Test("with a client CA, only clients presenting a certificate it signed get through")
  func mutualTLS() async throws {
    let certificates = try TestCertificates.make()
    defer { certificates.remove() }
    let configure: (inout StorefrontServer.Configuration) -> Void = {
      $0.tls = TLSSettings(
        certificateChainFile: certificates.serverCertificate,
        privateKeyFile: certificates.serverKey,
        clientCAFile: certificates.clientCA
      )
    }
    let trusted = Self.tls(
      trusting: certificates.caCertificate,
      certificate: certificates.clientCertificate,
      key: certificates.clientKey
    )
    try await TestServer.with(configure: configure, client: trusted) { _, server in
      _ = try await TestServer.token(for: "tls-staff", role: .staff, on: server)
      let port = try await server.listeningPort
      let before = try await server.store.productCount()
      #expect(try await Self.signInAndWrite(port: port, security: trusted) == nil)
      let anonymousClient = Self.tls(trusting: certificates.caCertificate)
      #expect(try await Self.signInAndWrite(port: port, security: anonymousClient) == .unavailable)
      let stranger = Self.tls(
        trusting: certificates.caCertificate,
        certificate: certificates.strangerCertificate,
        key: certificates.strangerKey
      )
      #expect(try await Self.signInAndWrite(port: port, security: stranger) == .unavailable)
      #expect(try await server.store.productCount() == before + 1)
    }
  }
}
