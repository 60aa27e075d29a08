import GRPCCore
import Synchronization

/// Reports an RPC's outcome exactly once: when the interceptor sees it end, or, if the
/// response's producer never runs (the transport dropped the call before its headers went
/// out), as CANCELLED when the last reference goes. Metrics and logs then count every call.
final class RPCCompletion: Sendable {
  private let report: @Sendable (RPCError?) -> Void
  private let reported = Mutex(false)

  init(_ report: @escaping @Sendable (RPCError?) -> Void) {
    self.report = report
  }

  /// Reports `error` (nil: success) unless an outcome was reported already.
  func callAsFunction(_ error: RPCError?) {
    let first = self.reported.withLock { reported in
      defer { reported = true }
      return !reported
    }
    if first { self.report(error) }
  }

  deinit {
    if !self.reported.withLock({ $0 }) {
      self.report(RPCError(code: .cancelled, message: "the call ended before its response began"))
    }
  }
}
