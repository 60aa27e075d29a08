public import GRPCCore
public import Logging
import StorefrontCore

/// Gives every RPC a request id, maps its errors to statuses (``StatusMapping``) and logs its
/// outcome. Installed first, so it sees the final status of every call.
public struct StatusInterceptor: ServerInterceptor {
  /// The metadata key carrying the request id, in both directions.
  public static let requestIDKey = "x-request-id"

  private let logger: Logger

  /// - Parameter logger: gets one info line per finished RPC (request id, method, peer, status,
  ///   duration) and an error line for each unexpected failure.
  public init(logger: Logger) {
    self.logger = logger
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let clientID = request.metadata[stringValues: Self.requestIDKey].first { _ in true }
    let requestID =
      clientID.flatMap { $0.utf8.count <= 128 ? $0 : nil } ?? Identifier.makeRequestID()
    // The call's logger is made only when something is logged: most calls log one line at
    // info, and none when the level is above it.
    let base = self.logger
    let logger = { @Sendable in Self.logger(base, requestID: requestID, context: context) }
    let start = ContinuousClock.now
    let finish = RPCCompletion { error in
      guard base.logLevel <= .info else { return }
      let elapsed = ContinuousClock.now - start
      // One metadata dictionary for the line, not a copy of the logger with three more keys.
      var metadata = Self.callMetadata(requestID: requestID, context: context)
      metadata["status"] = "\(error.map { "\($0.code)" } ?? "ok")"
      metadata["duration"] = "\(elapsed)"
      base.info("rpc finished", metadata: metadata)
    }
    // The transport flags a call whose deadline passed the same way as one the client
    // cancelled; the client's deadline tells them apart.
    let deadline = request.metadata[stringValues: "grpc-timeout"].first { _ in true }
      .flatMap(Self.duration(ofTimeout:)).map { start + $0 }
    // Maps an error, tags it with the request id and logs the outcome.
    let fail: @Sendable (any Error) -> RPCError = { error in
      var mapped = StatusMapping.rpcError(for: error, logger: logger())
      if mapped.code == .cancelled, let deadline, ContinuousClock.now >= deadline {
        mapped = RPCError(code: .deadlineExceeded, message: "the deadline passed")
      }
      mapped.metadata.replaceOrAddString(requestID, forKey: Self.requestIDKey)
      finish(mapped)
      return mapped
    }

    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      return StreamingServerResponse(error: fail(error))
    }
    switch response.accepted {
    case .success(var contents):
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          finish(nil)
          return trailers
        } catch {
          throw fail(error)
        }
      }
      contents.metadata.addString(requestID, forKey: Self.requestIDKey)
      response.accepted = .success(contents)
    case .failure(let error):
      response.accepted = .failure(fail(error))
    }
    return response
  }

  private static func logger(
    _ base: Logger,
    requestID: String,
    context: ServerContext
  ) -> Logger {
    var logger = base
    for (key, value) in Self.callMetadata(requestID: requestID, context: context) {
      logger[metadataKey: key] = value
    }
    return logger
  }

  /// What every log line of a call carries: its request id, method and peer.
  private static func callMetadata(requestID: String, context: ServerContext) -> Logger.Metadata {
    [
      "request-id": "\(requestID)",
      "rpc.method": "\(context.descriptor.fullyQualifiedMethod)",
      "peer": "\(context.remotePeer)",
    ]
  }

  /// The duration of a `grpc-timeout` value (`100m`, `5S`, ...): gRPC's grammar is 1 to 8
  /// ASCII digits, then one of H M S m u n. Nil when the value is malformed.
  static func duration(ofTimeout value: String) -> Duration? {
    let digits = value.utf8.dropLast()
    guard let unit = value.last, (1 ... 8).contains(digits.count),
      digits.allSatisfy({ (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains($0) }),
      let amount = Int64(String(value.dropLast()))
    else { return nil }
    switch unit {
    case "H": return .seconds(amount * 3_600)
    case "M": return .seconds(amount * 60)
    case "S": return .seconds(amount)
    case "m": return .milliseconds(amount)
    case "u": return .microseconds(amount)
    case "n": return .nanoseconds(amount)
    default: return nil
    }
  }
}
