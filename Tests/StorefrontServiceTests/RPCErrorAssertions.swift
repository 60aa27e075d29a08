import GRPCCore
import GRPCProtobuf
import StorefrontTestKit
import Testing

/// Runs `body`, expecting it to fail with `code`; returns the fields named by the error's
/// BadRequest details.
@discardableResult
func expectRPCError(
  _ code: RPCError.Code,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () async throws -> Void
) async throws -> [String] {
  do {
    try await body()
    Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
    return []
  } catch let error as RPCError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    guard let status = try error.unpackGoogleRPCStatus() else { return [] }
    return status.details.compactMap(\.badRequest).flatMap { $0.violations.map(\.field) }
  }
}
