import Foundation
import GRPCCore
import Logging
import StorefrontAPI
import StorefrontCore
import StorefrontTestKit
import Synchronization
import Testing

@testable import StorefrontService

/// The one place where errors become statuses.
@Suite("Status mapping")
struct StatusMappingTests {
  @Test(
    "every domain code maps to the gRPC code of the same meaning",
    arguments: StorefrontError.Code.Kind.allCases
  )
  func everyCodeMaps(_ kind: StorefrontError.Code.Kind) {
    let code = StatusMapping.code(for: StorefrontError.Code(kind: kind))
    // Only a bug is INTERNAL: a new domain code must be mapped, never fall through to it.
    #expect((code == .internalError) == (kind == .internalError))
    let domainName = "\(kind)".lowercased().replacingOccurrences(of: "error", with: "")
    #expect(code.grpcName.replacingOccurrences(of: "_", with: "").lowercased() == domainName)
  }

  @Test("an unexpected error is INTERNAL and logged as an error, with nothing of it sent")
  func unexpectedIsInternal() {
    let handler = InMemoryLogHandler()
    let error = StatusMapping.rpcError(
      for: CocoaLikeError(detail: "secret path /var/x"),
      callCancelled: false,
      logger: Logger(label: "test") { _ in handler }
    )
    #expect(error.code == .internalError)
    #expect(error.message == "internal error")
    let lines = handler.entries.lines.withLock { $0 }
    #expect(lines.contains { $0.hasPrefix("error unexpected error") })
  }

  @Test("an unexpected error of a call the client cancelled is CANCELLED, logged at debug only")
  func cancelledCallsFailureIsCancelled() {
    let handler = InMemoryLogHandler()
    let error = StatusMapping.rpcError(
      for: CocoaLikeError(detail: "I/O on closed channel"),
      callCancelled: true,
      logger: Logger(label: "test") { _ in handler }
    )
    #expect(error.code == .cancelled)
    let lines = handler.entries.lines.withLock { $0 }
    #expect(!lines.contains { $0.hasPrefix("error") })
    #expect(lines.contains { $0.hasPrefix("debug") })
  }

  @Test(
    "gRPC names: codes print as every client writes them",
    arguments: [
      (RPCError.Code.invalidArgument, "INVALID_ARGUMENT"), (.notFound, "NOT_FOUND"),
      (.deadlineExceeded, "DEADLINE_EXCEEDED"), (.internalError, "INTERNAL"),
      (.unauthenticated, "UNAUTHENTICATED"), (.cancelled, "CANCELLED"),
    ]
  )
  func grpcNames(_ code: RPCError.Code, _ name: String) {
    #expect(code.grpcName == name)
    #expect(RPCError.Code.grpcName(of: nil) == "OK")
  }
}

/// An error of no kind Storefront knows.
private struct CocoaLikeError: Error {
  var detail: String
}
