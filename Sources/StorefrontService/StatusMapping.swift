import GRPCCore
import GRPCProtobuf
import Logging
import StorefrontAPI
import StorefrontCore

/// The one place where errors become gRPC statuses.
enum StatusMapping {
  /// The gRPC code of each domain code.
  static func code(for code: StorefrontError.Code) -> RPCError.Code {
    switch code.kind {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .alreadyExists: .alreadyExists
    case .aborted: .aborted
    case .failedPrecondition: .failedPrecondition
    case .resourceExhausted: .resourceExhausted
    case .unavailable: .unavailable
    case .internalError: .internalError
    case .outOfRange: .outOfRange
    case .unauthenticated: .unauthenticated
    case .permissionDenied: .permissionDenied
    }
  }

  /// The status a client sees for `error`. Domain errors keep their message and field
  /// violations; anything unexpected is logged with its cause and becomes a bare INTERNAL,
  /// unless the call was cancelled (the client went away or its deadline passed), whose
  /// failure is the cancellation's doing: CANCELLED, logged at debug only.
  static func rpcError(for error: any Error, callCancelled: Bool, logger: Logger) -> RPCError {
    switch error {
    case let error as StorefrontError:
      return Self.rpcError(for: error, logger: logger)
    case let error as RPCError where error.code == .unknown && error.message.isEmpty:
      // GRPCCore wraps what an interceptor inside ours (AuthInterceptor) throws, or the
      // handler throws through it, as a bare UNKNOWN with the error as its cause.
      guard let cause = error.cause else { return error }
      return Self.rpcError(for: cause, callCancelled: callCancelled, logger: logger)
    case let error as RPCError:
      return error
    case let error as any RPCErrorConvertible:
      return RPCError(error)
    case is CancellationError:
      return RPCError(code: .cancelled, message: "the RPC was cancelled")
    default:
      if callCancelled {
        logger.debug("failed after the RPC was cancelled", metadata: ["error": "\(error)"])
        return RPCError(code: .cancelled, message: "the RPC was cancelled")
      }
      logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
      return RPCError(code: .internalError, message: "internal error")
    }
  }

  private static func rpcError(for error: StorefrontError, logger: Logger) -> RPCError {
    let code = Self.code(for: error.code)
    if code == .internalError {
      logger.error("internal error", metadata: ["error": "\(error)"])
      return RPCError(code: .internalError, message: "internal error")
    }
    // Unavailable or exhausted with a cause is the server's trouble (disk full, store
    // gone), not the client's: the operator hears of it.
    if code == .unavailable || code == .resourceExhausted, let cause = error.cause {
      logger.warning(
        "\(error.message)",
        metadata: ["code": "\(code.grpcName)", "error": "\(String(reflecting: cause))"]
      )
    }
    if let delay = error.retryDelay {
      return RPCError(
        GoogleRPCStatus(code: code, message: error.message, details: [.retryInfo(delay: delay)])
      )
    }
    guard !error.fieldViolations.isEmpty else {
      return RPCError(code: code, message: error.message)
    }
    let status = GoogleRPCStatus(
      code: code,
      message: error.message,
      details: [
        .badRequest(
          violations: error.fieldViolations.map {
            ErrorDetails.BadRequest.FieldViolation(field: $0.field, description: $0.description)
          }
        )
      ]
    )
    return RPCError(status)
  }
}
