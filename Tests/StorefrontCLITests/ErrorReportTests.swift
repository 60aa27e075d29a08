import Foundation
import GRPCCore
import GRPCProtobuf
import StorefrontAPI
import StorefrontClient
import StorefrontService
import Testing

@testable import storefront

@Suite("Error report")
struct ErrorReportTests {
  @Test(
    "codes are written as gRPC writes them",
    arguments: [
      (RPCError.Code.cancelled, "CANCELLED"), (.unknown, "UNKNOWN"),
      (.invalidArgument, "INVALID_ARGUMENT"), (.deadlineExceeded, "DEADLINE_EXCEEDED"),
      (.notFound, "NOT_FOUND"), (.alreadyExists, "ALREADY_EXISTS"),
      (.permissionDenied, "PERMISSION_DENIED"), (.resourceExhausted, "RESOURCE_EXHAUSTED"),
      (.failedPrecondition, "FAILED_PRECONDITION"), (.aborted, "ABORTED"),
      (.outOfRange, "OUT_OF_RANGE"), (.unimplemented, "UNIMPLEMENTED"),
      (.internalError, "INTERNAL"), (.unavailable, "UNAVAILABLE"), (.dataLoss, "DATA_LOSS"),
      (.unauthenticated, "UNAUTHENTICATED"),
    ]
  )
  func grpcNames(code: RPCError.Code, name: String) {
    #expect(code.grpcName == name)
    #expect(ErrorReport(RPCError(code: code, message: "m")).text == "\(name): m")
  }

  /// A failed call as the server sends it: a rich status with field violations, and the
  /// call's request id.
  static func invalidArgument() -> RPCError {
    var error = RPCError(
      GoogleRPCStatus(
        code: .invalidArgument,
        message: "product.price_cents must not be negative",
        details: [
          .badRequest(
            violations: [.init(field: "product.price_cents", description: "must not be negative")]
          )
        ]
      )
    )
    error.metadata.addString("req-1", forKey: "x-request-id")
    return error
  }

  static func object(_ json: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
  }

  @Test("as JSON: one object with the code, message, field violations and request id")
  func json() throws {
    let json = ErrorReport(Self.invalidArgument()).json
    #expect(!json.contains("\n"))
    let object = try Self.object(json)
    #expect(object["code"] as? String == "INVALID_ARGUMENT")
    #expect(object["message"] as? String == "product.price_cents must not be negative")
    #expect(object["requestId"] as? String == "req-1")
    let violations = try #require(object["fieldViolations"] as? [[String: String]])
    #expect(
      violations == [["field": "product.price_cents", "description": "must not be negative"]]
    )
    #expect(object["hint"] is NSNull)
  }

  @Test("as text: the code and message, the request id, then each field and the hint")
  func text() {
    let failure = CallFailure(
      error: StorefrontClientError(Self.invalidArgument()),
      hint: "Try again."
    )
    #expect(
      ErrorReport(failure).text == """
        INVALID_ARGUMENT: product.price_cents must not be negative (request id req-1)
          product.price_cents: must not be negative
          Try again.
        """
    )
  }

  @Test("a failure that is not a call's has no code, and says so in JSON with null")
  func localFailure() throws {
    let report = ErrorReport(CommandFailure("x.csv does not exist"))
    #expect(report.text == "x.csv does not exist")
    let object = try Self.object(report.json)
    #expect(object["code"] is NSNull)
    #expect(object["requestId"] is NSNull)
    #expect(object["message"] as? String == "x.csv does not exist")
    #expect((object["fieldViolations"] as? [Any])?.isEmpty == true)
  }
}
