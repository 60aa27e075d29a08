import Foundation
import GRPCCore
import GRPCProtobuf
import StorefrontAPI
import StorefrontClient

/// What a failed command says: one line (and its details) for people, or one JSON object for
/// scripts (`--json`). Status codes are written as gRPC writes them (`INVALID_ARGUMENT`).
struct ErrorReport {
  /// The gRPC status code's name; nil when the command failed without a call failing.
  var code: String?
  var message: String
  /// The fields a google.rpc.BadRequest detail named, with why.
  var fieldViolations: [(field: String, description: String)] = []
  /// The server's `x-request-id` for the call, to find it in the server's log.
  var requestID: String?
  /// What the user can do about it.
  var hint: String?
  /// The error beneath, for the text form (a TLS or socket error's own words).
  var cause: String?

  init(_ error: any Error) {
    var error = error
    if let failure = error as? CallFailure {
      error = failure.error
      self.hint = failure.hint
    }
    if let rpcError = error as? RPCError {
      error = StorefrontClientError(rpcError)
    }
    switch error {
    case let error as StorefrontClientError where error.isLocal:
      self.message = error.message
    case let error as StorefrontClientError:
      self.code = error.codeName
      self.message = error.message
      self.requestID = error.requestID
      // A rich status as the cause says again what the code, message and details say.
      self.cause = error.underlying.cause.flatMap { $0 is GoogleRPCStatus ? nil : "\($0)" }
      self.fieldViolations = error.fieldViolations.map { ($0.field, $0.description) }
    case let failure as CommandFailure:
      self.message = failure.description
    default:
      self.message = "\(error)"
    }
  }

  /// For people: `NOT_FOUND: no product p_1 (request id ...)`, then the fields and the hint.
  var text: String {
    var first = self.code.map { "\($0): \(self.message)" } ?? self.message
    if let cause = self.cause { first += " (cause: \(cause))" }
    if let requestID = self.requestID { first += " (request id \(requestID))" }
    var lines = [first]
    lines += self.fieldViolations.map { "  \($0.field): \($0.description)" }
    if let hint = self.hint { lines.append("  \(hint)") }
    return lines.joined(separator: "\n")
  }

  /// For scripts: one JSON object; every key is present, null when it does not apply.
  var json: String {
    let object: [String: Any] = [
      "code": self.code ?? NSNull(),
      "message": self.message,
      "fieldViolations": self.fieldViolations.map {
        ["field": $0.field, "description": $0.description]
      },
      "requestId": self.requestID ?? NSNull(),
      "hint": self.hint ?? NSNull(),
    ]
    let data =
      (try? JSONSerialization.data(
        withJSONObject: object,
        options: [.sortedKeys, .withoutEscapingSlashes]
      )) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }
}

/// A call that failed, with what the user can do about it (sign in, start the server).
struct CallFailure: Error {
  let error: StorefrontClientError
  let hint: String?
}
