import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import StorefrontAPI
import StorefrontService
import SwiftProtobuf

/// A subcommand that calls the server with ``ClientOptions``; with `--json` its failures
/// are printed as JSON too.
protocol ClientCommand: PrintsJSON {
  /// The server, the token, the output format.
  var options: ClientOptions { get }
}

extension ClientCommand {
  /// Whether `--json` was given.
  var printsJSON: Bool { self.options.json }
}

/// A command whose output, failures included, may be JSON for scripts.
protocol PrintsJSON {
  /// Whether the command prints JSON.
  var printsJSON: Bool { get }
}

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

  /// Refuses a `--server` that is not host:port before anything is sent.
  func validate() throws {
    _ = try self.hostAndPort()
  }

  /// Runs `body` with a client connected to ``server``.
  func withClient<Result: Sendable>(
    _ body: (Storefront_V1_ProductService.Client<HTTP2ClientTransport.Posix>) async throws -> Result
  ) async throws -> Result {
    try await self.withGRPC { client in
      try await body(Storefront_V1_ProductService.Client(wrapping: client))
    }
  }

  /// Runs `body` with a connection to ``server`` that sends the access token, if there is one.
  /// - Throws: a failed call as ``CallFailure``, with what to do when there is something to do
  ///   (sign in, start the server); whatever else `body` throws.
  func withGRPC<Result: Sendable>(
    sendingToken: Bool = true,
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
  ) async throws -> Result {
    let (host, port) = try self.hostAndPort()
    let token = sendingToken ? try self.accessToken() : nil
    do {
      return try await self.withGRPC(host: host, port: port, token: token, body)
    } catch let error as RPCError {
      var hint: String?
      switch error.code {
      case .unauthenticated where sendingToken:
        hint =
          (token == nil ? "No token was sent" : "The token was refused")
          + ": sign in with `storefront login USERNAME`."
      // Our server names every answer with a request id; without one the call never reached
      // it (nothing listens there, or the transport gave up).
      case .unavailable
      where !error.metadata[stringValues: ErrorReport.requestIDKey].contains { _ in true }:
        hint =
          "Is the server running at \(self.server)? Start one with `storefront serve`, or "
          + "name another with --server HOST:PORT."
      default:
        hint = nil
      }
      throw CallFailure(error: error, hint: hint)
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
    guard let colon = self.server.lastIndex(of: ":"), colon != self.server.startIndex,
      let port = Int(self.server[self.server.index(after: colon)...]),
      (1 ... 65535).contains(port)
    else {
      throw ValidationError("--server must be host:port, e.g. 127.0.0.1:50051")
    }
    return (String(self.server[..<colon]), port)
  }

  /// Prints a message as JSON (every field, see ``ProtoJSON``) or as text, unbuffered, so
  /// that output piped to another program arrives as it happens.
  func print(_ message: some SwiftProtobuf.Message, text: () -> String) throws {
    let line = self.json ? try ProtoJSON.string(message) : text()
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
  /// The price for people, in major units: `7.77 USD`.
  var priceText: String {
    let sign = self.priceCents < 0 ? "-" : ""
    let cents = self.priceCents.magnitude
    let amount = "\(sign)\(cents / 100).\(String(format: "%02d", Int(cents % 100)))"
    return self.currency.isEmpty ? amount : "\(amount) \(self.currency)"
  }

  /// A few lines for people.
  var summary: String {
    var lines = [
      "\(self.id)  \(self.name)",
      "  sku \(self.sku) · \(self.category.isEmpty ? "no category" : self.category) · "
        + "\(self.priceText) · \(self.stock) in stock · etag \(self.etag)",
    ]
    if !self.description_p.isEmpty { lines.append("  \(self.description_p)") }
    if !self.imageIds.isEmpty { lines.append("  images: \(self.imageIds.joined(separator: ", "))") }
    return lines.joined(separator: "\n")
  }
}
