public import GRPCCore
import GRPCProtobuf
import StorefrontAPI

/// Why a call failed: the gRPC status code and message, the fields the server named as
/// invalid, how long to wait before trying again, and the server's request id for its log.
public struct StorefrontClientError: Error, Sendable, CustomStringConvertible {
  /// One invalid field of a request, as a `google.rpc.BadRequest` names it.
  public struct FieldViolation: Sendable, Hashable {
    /// The field's path, e.g. `product.price_cents`.
    public var field: String
    /// What is wrong with it.
    public var description: String
  }

  /// The status code, e.g. `.invalidArgument`.
  public var code: RPCError.Code
  /// The server's (or the transport's) message.
  public var message: String
  /// The invalid fields, for `INVALID_ARGUMENT`.
  public var fieldViolations: [FieldViolation]
  /// How long the server asks the client to wait (`google.rpc.RetryInfo`), e.g. for a
  /// sign-in lockout.
  public var retryDelay: Duration?
  /// The `x-request-id` the server gave the call; nil when the call never reached it.
  public var requestID: String?
  /// The error as grpc-swift reported it.
  public var underlying: RPCError
  /// Whether the client found the failure itself, without a call failing (a file that
  /// cannot be read, a downloaded file whose hash is wrong).
  public var isLocal: Bool

  /// The metadata key of the server's request id.
  public static let requestIDKey = "x-request-id"

  public init(_ error: RPCError) {
    self.underlying = error
    self.isLocal = false
    self.code = error.code
    self.message = error.message
    self.requestID = error.metadata[stringValues: Self.requestIDKey].first { _ in true }
    self.fieldViolations = []
    if let status = try? error.unpackGoogleRPCStatus() {
      for detail in status.details {
        for violation in detail.badRequest?.violations ?? [] {
          self.fieldViolations.append(
            FieldViolation(field: violation.field, description: violation.violationDescription)
          )
        }
        if let retry = detail.retryInfo {
          self.retryDelay = retry.delay
        }
      }
    }
  }

  /// A failure found by the client itself (a downloaded file whose hash is wrong).
  public init(code: RPCError.Code, message: String) {
    self.init(RPCError(code: code, message: message))
    self.isLocal = true
  }

  /// The code as gRPC names it everywhere: `INVALID_ARGUMENT`, `NOT_FOUND`, ...
  public var codeName: String {
    self.code.grpcName
  }

  /// `NOT_FOUND: no product p_1`, then the invalid fields.
  public var description: String {
    ([self.codeName + ": " + self.message]
      + self.fieldViolations.map { "  \($0.field): \($0.description)" })
      .joined(separator: "\n")
  }
}
