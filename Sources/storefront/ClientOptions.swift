import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import StorefrontAPI
import StorefrontService
import SwiftProtobuf

/// The options every client subcommand shares.
struct ClientOptions: ParsableArguments {
  @Option(help: "The server's address, host:port.")
  var server: String = "127.0.0.1:50051"

  @Flag(help: "Print JSON, one object per line, instead of text.")
  var json = false

  @Option(help: "Seconds before a unary call gives up.")
  var timeout: Double = 10

  @Option(
    help: """
      The access token to send. Default: $STOREFRONT_TOKEN, else the token `storefront login` \
      saved.
      """
  )
  var token: String?

  @OptionGroup var tls: ClientTLSOptions

  /// Runs `body` with a client connected to ``server``.
  func withClient<Result: Sendable>(
    _ body: (Storefront_V1_ProductService.Client<HTTP2ClientTransport.Posix>) async throws -> Result
  ) async throws -> Result {
    try await self.withGRPC { client in
      try await body(Storefront_V1_ProductService.Client(wrapping: client))
    }
  }

  /// Runs `body` with a connection to ``server`` that sends the access token, if there is one.
  func withGRPC<Result: Sendable>(
    sendingToken: Bool = true,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
  ) async throws -> Result {
    let (host, port) = try self.hostAndPort()
    let token = sendingToken ? try self.accessToken() : nil
    do {
      return try await self.withGRPC(host: host, port: port, token: token, body)
    } catch let error as RPCError where error.code == .unauthenticated && sendingToken {
      throw CommandFailure(
        "\(error.message) (\(token == nil ? "no token" : "the token was refused"): sign in "
          + "with `storefront login USERNAME`)"
      )
    }
  }

  private func withGRPC<Result: Sendable>(
    host: String,
    port: Int,
    token: String?,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
  ) async throws -> Result {
    try await withGRPCClient(
      transport: .http2NIOPosix(
        target: Self.target(host: host, port: port),
        transportSecurity: try self.tls.transportSecurity()
      ),
      interceptors: token.map { [BearerTokenInterceptor(token: $0)] } ?? []
    ) { client in
      try await body(client)
    }
  }

  /// An address as a target: IP addresses as such, since TLS may not send one as a server
  /// name (SNI); anything else as a DNS name.
  private static func target(host: String, port: Int) -> any ResolvableTarget {
    if host.contains(":") {
      return .ipv6(
        address: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
        port: port
      )
    }
    let isIPv4 =
      host.split(separator: ".", omittingEmptySubsequences: false).count == 4
      && host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    return isIPv4 ? .ipv4(address: host, port: port) : .dns(host: host, port: port)
  }

  /// The token to send: `--token`, `$STOREFRONT_TOKEN`, or the saved one; nil when none.
  func accessToken() throws -> String? {
    if let token = self.token { return token }
    if let token = ProcessInfo.processInfo.environment["STOREFRONT_TOKEN"], !token.isEmpty {
      return token
    }
    return try TokenFile.read()
  }

  /// Call options with this command's timeout.
  var unaryOptions: CallOptions {
    var options = CallOptions.defaults
    options.timeout = .milliseconds(Int64(self.timeout * 1000))
    return options
  }

  private func hostAndPort() throws -> (String, Int) {
    guard let colon = self.server.lastIndex(of: ":"),
      let port = Int(self.server[self.server.index(after: colon)...]),
      (1 ... 65535).contains(port)
    else {
      throw ValidationError("--server must be host:port, e.g. 127.0.0.1:50051")
    }
    return (String(self.server[..<colon]), port)
  }

  /// Prints a message as JSON or as text, unbuffered, so that output piped to another
  /// program arrives as it happens.
  func print(_ message: some SwiftProtobuf.Message, text: () -> String) throws {
    let line = self.json ? try message.jsonString() : text()
    try writeToStandardOutput(line + "\n")
  }
}

/// Writes to standard output, unbuffered. When the reader has gone (`storefront ... | head`),
/// the command ends quietly; any other failure (a full disk) is an error.
func writeToStandardOutput(_ text: String) throws {
  do {
    try FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
  } catch let error as NSError where error.domain == NSPOSIXErrorDomain && error.code == Int(EPIPE)
  {
    throw ExitCode.success
  } catch let error as NSError
    where (error.userInfo[NSUnderlyingErrorKey] as? NSError)?.code == Int(EPIPE)
  {
    throw ExitCode.success
  }
}

/// A command that could not do its job, for reasons other than its arguments: the message
/// is printed without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
  let description: String

  init(_ description: String) {
    self.description = description
  }
}

extension Storefront_V1_Product {
  /// A few lines for people.
  var summary: String {
    let price = String(format: "%d.%02d", self.priceCents / 100, self.priceCents % 100)
    var lines = [
      "\(self.id)  \(self.name)",
      "  sku \(self.sku) · \(self.category.isEmpty ? "no category" : self.category) · "
        + "\(price) \(self.currency) · \(self.stock) in stock · etag \(self.etag)",
    ]
    if !self.description_p.isEmpty { lines.append("  \(self.description_p)") }
    if !self.imageIds.isEmpty { lines.append("  images: \(self.imageIds.joined(separator: ", "))") }
    return lines.joined(separator: "\n")
  }
}
