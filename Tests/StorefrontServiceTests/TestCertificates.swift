import Foundation

#if canImport(Glibc)
import Glibc
#endif

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

  /// Runs `openssl` with `arguments` in the certificates' folder. Through `posix_spawn`, not
  /// Foundation's `Process`: swift-corelibs-foundation's `Process.run()` on Linux can over-read
  /// a directory entry of /proc/self/fd and crash the whole test process (fixed upstream in
  /// swiftlang/swift-corelibs-foundation#5472, not in the toolchain here).
  private func openssl(_ arguments: String...) throws {
    let log = self.path("openssl-errors.log")
    let command = ["/usr/bin/env", "-C", self.directory.path, "openssl"] + arguments
    let environment = ProcessInfo.processInfo.environment.map { "\($0)=\($1)" }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var argv = command.map { strdup($0) } + [nil]
    var envp = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], &actions, nil, &argv, &envp)
    guard spawned == 0 else {
      throw CertificateError(description: "could not start openssl: error \(spawned)")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    guard status == 0 else {
      let message = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      throw CertificateError(
        description: "openssl \(arguments.joined(separator: " ")): \(message)"
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
