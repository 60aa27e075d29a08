import Foundation
import NIOSSL
import PostgresNIO

/// A database given as `postgres://USER@HOST:PORT/DB[?sslmode=disable|prefer|require]`.
///
/// The password never comes from the URL (a URL is seen in the process list and in logs):
/// it is given apart, from `PGPASSWORD` or a file.
public struct PostgresDatabaseURL: Hashable, Sendable, CustomStringConvertible {
  /// How the connection uses TLS, as libpq's `sslmode` says.
  public enum TLSMode: String, Hashable, Sendable {
    /// Never TLS.
    case disable
    /// TLS when the server offers it, its certificate unchecked (libpq's default).
    case prefer
    /// TLS or no connection; the server's certificate is verified against the system's
    /// trust roots.
    case require
  }

  public var host: String
  public var port: Int
  public var username: String
  public var database: String
  public var tls: TLSMode
  /// The password, if any; never printed.
  public var password: String?

  public init(
    host: String,
    port: Int = 5432,
    username: String,
    database: String,
    tls: TLSMode = .prefer,
    password: String? = nil
  ) {
    self.host = host
    self.port = port
    self.username = username
    self.database = database
    self.tls = tls
    self.password = password
  }

  /// Whether `text` names a PostgreSQL database rather than a file.
  public static func isPostgresURL(_ text: String) -> Bool {
    text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
  }

  /// Parses `postgres://USER@HOST:PORT/DB?sslmode=MODE`.
  /// - Throws: ``PostgresDatabaseURL/Invalid`` with what is wrong; a password in the URL is
  ///   refused.
  public init(parsing text: String) throws(Invalid) {
    guard Self.isPostgresURL(text), let components = URLComponents(string: text) else {
      throw Invalid(message: "a database URL is postgres://USER@HOST:PORT/DATABASE")
    }
    guard components.password == nil else {
      throw Invalid(
        message: "the database URL must not hold the password; give it in PGPASSWORD or a file"
      )
    }
    guard let user = components.user, !user.isEmpty else {
      throw Invalid(message: "the database URL names no user (postgres://USER@HOST/DATABASE)")
    }
    guard let host = components.host, !host.isEmpty else {
      throw Invalid(message: "the database URL names no host")
    }
    let database = String(components.path.drop(while: { $0 == "/" }))
    guard !database.isEmpty else {
      throw Invalid(message: "the database URL names no database (postgres://USER@HOST/DATABASE)")
    }
    var tls = TLSMode.prefer
    for item in components.queryItems ?? [] {
      guard item.name == "sslmode" else {
        throw Invalid(message: "unknown database URL parameter '\(item.name)'; only sslmode is")
      }
      guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
        throw Invalid(message: "sslmode is disable, prefer or require")
      }
      tls = mode
    }
    self.init(
      host: host,
      port: components.port ?? 5432,
      username: user.removingPercentEncoding ?? user,
      database: database.removingPercentEncoding ?? database,
      tls: tls
    )
  }

  /// What is wrong with a database URL.
  public struct Invalid: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
  }

  /// The URL, without the password: for logs and messages.
  public var description: String {
    "postgres://\(self.username)@\(self.host):\(self.port)/\(self.database)?sslmode=\(self.tls)"
  }

  /// TLS that encrypts without checking the server's certificate, as libpq's `prefer`.
  private static var unverified: TLSConfiguration {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.certificateVerification = .none
    return configuration
  }

  func clientConfiguration() throws -> PostgresClient.Configuration {
    let tls: PostgresClient.Configuration.TLS =
      switch self.tls {
      case .disable: .disable
      case .prefer: .prefer(Self.unverified)
      case .require: .require(.makeClientConfiguration())
      }
    return PostgresClient.Configuration(
      host: self.host,
      port: self.port,
      username: self.username,
      password: self.password,
      database: self.database,
      tls: tls
    )
  }
}
