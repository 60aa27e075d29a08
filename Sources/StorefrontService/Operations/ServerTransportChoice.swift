import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import StorefrontTransport

/// Which HTTP/2 server transport serves the API.
public enum TransportImplementation: String, CaseIterable, Sendable, Hashable {
  /// ``StorefrontServerTransport``: every call on its connection's event loop (the default).
  case storefront
  /// grpc-swift-nio-transport's `HTTP2ServerTransport.Posix`, the framework's own: kept for
  /// comparison and as a fallback.
  case nio
}

/// A `GRPCServer` on either transport, behind one interface: `GRPCServer` is generic over its
/// transport, and the server picks one at run time.
enum ServingTransport: Sendable {
  case storefront(GRPCServer<StorefrontServerTransport>, StorefrontServerTransport)
  case nio(GRPCServer<HTTP2ServerTransport.Posix>, HTTP2ServerTransport.Posix)

  /// A server with `services` and `interceptors` on the transport `settings` choose, listening
  /// on `host`:`port` with the same HTTP/2, keepalive, compression and message-size settings
  /// whichever it is; `web` (the browsers' protocols and page) on the Storefront transport
  /// only.
  static func make(
    settings: TransportSettings,
    host: String,
    port: Int,
    maxRequestMessageBytes: Int,
    tls: TLSSettings?,
    web: StorefrontServerTransport.Web?,
    services: [any RegistrableRPCService],
    interceptors: [any ServerInterceptor]
  ) -> ServingTransport {
    switch settings.implementation {
    case .storefront:
      var configuration = settings.storefrontConfiguration(
        host: host,
        port: port,
        maxRequestMessageBytes: maxRequestMessageBytes,
        tls: tls
      )
      configuration.web = web
      let transport = StorefrontServerTransport(configuration: configuration)
      return .storefront(
        GRPCServer(transport: transport, services: services, interceptors: interceptors),
        transport
      )
    case .nio:
      var config = settings.posixConfig
      config.rpc.maxRequestPayloadSize = maxRequestMessageBytes
      let transport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: host, port: port),
        transportSecurity: tls.posixSecurity,
        config: config
      )
      return .nio(
        GRPCServer(transport: transport, services: services, interceptors: interceptors),
        transport
      )
    }
  }

  /// Serves until shutdown.
  func serve() async throws {
    switch self {
    case .storefront(let server, _): try await server.serve()
    case .nio(let server, _): try await server.serve()
    }
  }

  /// No new calls; those in flight finish.
  func beginGracefulShutdown() {
    switch self {
    case .storefront(let server, _): server.beginGracefulShutdown()
    case .nio(let server, _): server.beginGracefulShutdown()
    }
  }

  /// The IPv4 port the transport listens on, once it does; nil when it is not on IPv4.
  var listeningPort: Int? {
    get async throws {
      switch self {
      case .storefront(_, let transport):
        return try await transport.listeningAddress.port
      case .nio(_, let transport):
        return try await transport.listeningAddress.ipv4?.port
      }
    }
  }
}

extension Optional where Wrapped == TLSSettings {
  /// TLS from PEM files for grpc-swift-nio-transport, with client certificates required when a
  /// client CA is given.
  fileprivate var posixSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
    guard let tls = self else { return .plaintext }
    let chain = [TLSConfig.CertificateSource.file(path: tls.certificateChainFile, format: .pem)]
    let key = TLSConfig.PrivateKeySource.file(path: tls.privateKeyFile, format: .pem)
    guard let clientCA = tls.clientCAFile else {
      return .tls(certificateChain: chain, privateKey: key)
    }
    return .mTLS(certificateChain: chain, privateKey: key) { config in
      config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
      config.clientCertificateVerification = .noHostnameVerification
    }
  }
}
