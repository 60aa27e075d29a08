import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontClient
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
    _ = try self.address()
  }

  /// The client configuration these options name.
  func configuration() throws -> StorefrontClient.Configuration {
    StorefrontClient.Configuration(
      server: try self.address(),
      security: self.tls.security,
      unaryTimeout: .milliseconds(Int64(self.timeout * 1000))
    )
  }

  /// Runs `body` with a client of ``server`` that sends the access token, if there is one.
  /// - Throws: a failed call as ``CallFailure``, with what to do when there is something to do
  ///   (sign in, start the server); whatever else `body` throws.
  func withClient<Result: Sendable>(
    sendingToken: Bool = true,
    _ body: (StorefrontClient) async throws -> Result
  ) async throws -> Result {
    let token = sendingToken ? try self.accessToken() : nil
    do {
      return try await StorefrontClient.with(try self.configuration(), token: token, body)
    } catch let error as StorefrontClientError {
      var hint: String?
      switch error.code {
      case .unauthenticated where sendingToken:
        hint =
          (token == nil ? "No token was sent" : "The token was refused")
          + ": sign in with `storefront login USERNAME`."
      // Our server names every answer with a request id; without one the call never reached
      // it (nothing listens there, or the transport gave up).
      case .unavailable where error.requestID == nil:
        hint =
          "Is the server running at \(self.server)? Start one with `storefront serve`, or "
          + "name another with --server HOST:PORT."
      default:
        hint = nil
      }
      throw CallFailure(error: error, hint: hint)
    }
  }

  /// The token to send: `--token`, `$STOREFRONT_TOKEN`, or the saved one; nil when none.
  func accessToken() throws -> String? {
    if let token = self.token { return token }
    if let token = ProcessInfo.processInfo.environment["STOREFRONT_TOKEN"], !token.isEmpty {
      return token
    }
    return try TokenFile.read()
  }

  private func address() throws -> StorefrontClient.Server {
    guard let address = StorefrontClient.Server(self.server) else {
      throw ValidationError("--server must be host:port, e.g. 127.0.0.1:50051")
    }
    return address
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
