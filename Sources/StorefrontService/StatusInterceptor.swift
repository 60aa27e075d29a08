public import GRPCCore
public import Logging
import StorefrontCore

/// Turns whatever a call throws into the status the client sees: domain errors by
/// ``StatusMapping`` (unexpected ones logged with the call's request id, answered as a bare
/// INTERNAL), the transport's cancellation of a call whose deadline passed as
/// DEADLINE_EXCEEDED, and the failure of a call the client cancelled as CANCELLED (a write
/// to a stream the client reset is the client's right, not the server's fault).
public struct StatusInterceptor: ServerInterceptor {
  private let logger: Logger

  /// - Parameter logger: gets an error line for each unexpected failure.
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
    // The transport flags a call whose deadline passed the same way as one the client
    // cancelled; the client's deadline tells them apart.
    let start = ContinuousClock.now
    let deadline = request.metadata[stringValues: GRPCTimeout.headerName].first { _ in true }
      .flatMap(GRPCTimeout.init(headerValue:)).map { start + $0.duration }
    let requestID = request.metadata[stringValues: AccessLogInterceptor.requestIDKey].first {
      _ in true
    }
    let base = self.logger
    let status: @Sendable (any Error) -> RPCError = { error in
      var logger = base
      for (key, value) in AccessLogInterceptor.callMetadata(
        requestID: requestID ?? "",
        context: context
      ) {
        logger[metadataKey: key] = value
      }
      let mapped = StatusMapping.rpcError(
        for: error,
        callCancelled: context.cancellation.isCancelled,
        logger: logger
      )
      if mapped.code == .cancelled, let deadline, ContinuousClock.now >= deadline {
        return RPCError(code: .deadlineExceeded, message: "the deadline passed")
      }
      return mapped
    }
    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      return StreamingServerResponse(error: status(error))
    }
    if case .failure(let error) = response.accepted {
      response.accepted = .failure(status(error))
      return response
    }
    return response.aroundProducer { writer, producer in
      do {
        return try await producer(writer)
      } catch {
        throw status(error)
      }
    }
  }
}
