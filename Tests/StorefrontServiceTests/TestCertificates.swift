import Foundation

/// Certificates made at test time with the `openssl` command: a CA, a server certificate for
/// 127.0.0.1 and localhost, a client certificate from a client CA, and a client certificate
/// from a CA nobody trusts. PEM files in a temporary folder, removed by ``remove()``.
struct TestCertificates {
  let directory: URL

  var caCertificate: String { self.path("ca.pem") }
  var serverCertificate: String { self.path("server.pem") }
  var serverKey: String { self.path("server.key") }
  var clientCA: String { self.path("client-ca.pem") }
  var clientCertificate: String { self.path("client.pem") }
  var clientKey: String { self.path("client.key") }
  var strangerCertificate: String { self.path("stranger.pem") }
  var strangerKey: String { self.path("stranger.key") }

  private func path(_ name: String) -> String {
    self.directory.appendingPathComponent(name).path
  }

  /// Makes every certificate; throws when openssl fails.
  static func make() throws -> Self {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-tls-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let certificates = Self(directory: directory)
    for ca in ["ca", "client-ca", "stranger-ca"] {
      try certificates.openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "\(ca).key",
        "-out",
        "\(ca).pem",
        "-days",
        "2",
        "-subj",
        "/CN=Test \(ca)",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=keyCertSign,cRLSign"
      )
    }
    try certificates.issue(
      "server",
      by: "ca",
      extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
    )
    try certificates.issue("client", by: "client-ca", extensions: "extendedKeyUsage=clientAuth")
    try certificates.issue("stranger", by: "stranger-ca", extensions: "extendedKeyUsage=clientAuth")
    return certificates
  }

  private func issue(_ name: String, by ca: String, extensions: String) throws {
    try self.openssl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "\(name).key",
      "-out",
      "\(name).csr",
      "-subj",
      "/CN=\(name)"
    )
    try Data(extensions.utf8).write(to: self.directory.appendingPathComponent("\(name).ext"))
    try self.openssl(
      "x509",
      "-req",
      "-in",
      "\(name).csr",
      "-CA",
      "\(ca).pem",
      "-CAkey",
      "\(ca).key",
      "-CAcreateserial",
      "-out",
      "\(name).pem",
      "-days",
      "2",
      "-extfile",
      "\(name).ext"
    )
  }

  private func openssl(_ arguments: String...) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    process.currentDirectoryURL = self.directory
    process.standardOutput = FileHandle.nullDevice
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw CertificateError(
        description: "openssl \(arguments.joined(separator: " ")): "
          + String(decoding: message, as: UTF8.self)
      )
    }
  }

  func remove() {
    try? FileManager.default.removeItem(at: self.directory)
  }

  struct CertificateError: Error, CustomStringConvertible {
    let description: String
  }
}
