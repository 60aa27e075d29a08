import NIOSSL

extension StorefrontServerTransport.Security {
  /// The TLS context to serve with; nil for plaintext.
  /// - Throws: when a certificate, key or CA file cannot be read.
  /// - Parameter http1: whether HTTP/1.1 is offered beside HTTP/2 (ALPN `http/1.1`).
  func makeSSLContext(http1: Bool = false) throws -> NIOSSLContext? {
    guard case .tls(let chainFile, let keyFile, let clientCAFile) = self else { return nil }
    let chain = try NIOSSLCertificate.fromPEMFile(chainFile).map {
      NIOSSLCertificateSource.certificate($0)
    }
    let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain,
      privateKey: .privateKey(key)
    )
    // gRPC is HTTP/2 only; browsers may also speak gRPC-Web and Connect over HTTP/1.1.
    configuration.applicationProtocols = http1 ? ["h2", "http/1.1"] : ["h2"]
    if let clientCAFile {
      configuration.trustRoots = .file(clientCAFile)
      configuration.certificateVerification = .noHostnameVerification
    }
    return try NIOSSLContext(configuration: configuration)
  }
}
