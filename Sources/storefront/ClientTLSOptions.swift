import ArgumentParser
import StorefrontClient

/// How a client secures its connection: plaintext unless a CA is given.
struct ClientTLSOptions: ParsableArguments {
  @Option(help: "Connect over TLS, trusting the server certificate's issuer in this PEM file.")
  var tlsCa: String?

  @Option(help: "A client certificate (PEM) for servers that require one (mTLS); needs --tls-ca.")
  var tlsCert: String?

  @Option(help: "The client certificate's private key (PEM).")
  var tlsKey: String?

  func validate() throws {
    guard (self.tlsCert == nil) == (self.tlsKey == nil) else {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    guard self.tlsCert == nil || self.tlsCa != nil else {
      throw ValidationError("--tls-cert needs --tls-ca")
    }
  }

  /// Plaintext, TLS verifying the server against ``tlsCa``, or mutual TLS.
  var security: StorefrontClient.Security {
    guard let ca = self.tlsCa else { return .plaintext }
    return .tls(trustRoots: ca, clientCertificate: self.tlsCert, clientKey: self.tlsKey)
  }
}
