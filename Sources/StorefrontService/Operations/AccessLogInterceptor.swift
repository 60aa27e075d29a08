public import GRPCCore
public import Logging
import StorefrontAPI
import StorefrontCore

/// Gives every RPC a request id (the client's `x-request-id`, or a new one), returns it on
/// every response and every status, and logs one line per finished call: request id,
/// method, peer, status and duration. Installed outside ``StatusInterceptor``, so it sees the
/// status the client gets.
public struct AccessLogInterceptor: ServerInterceptor {
  /// The metadata key carrying the request id, in both directions.
  public static let requestIDKey = "x-request-id"
  /// The longest request id a client may choose; longer ones are replaced.
  static let maxRequestIDBytes = 128

  private let logger: Logger

  /// - Parameter logger: gets the line of each finished call, at info.
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
      clientID.flatMap { $0.utf8.count <= Self.maxRequestIDBytes ? $0 : nil }
      ?? Identifier.makeRequestID()
    let logger = self.logger
    let start = ContinuousClock.now
    let finish = RPCCompletion { error in
      guard logger.logLevel <= .info else { return }
      var metadata = Self.callMetadata(requestID: requestID, context: context)
      metadata["status"] = "\(RPCError.Code.grpcName(of: error?.code))"
      metadata["duration"] = "\(ContinuousClock.now - start)"
      logger.info("rpc finished", metadata: metadata)
    }
    let tagged: @Sendable (any Error) -> any Error = { error in
      guard var error = error as? RPCError else { return error }
      error.metadata.replaceOrAddString(requestID, forKey: Self.requestIDKey)
      finish(error)
      return error
    }
    // Inner layers log under the same id.
    var request = request
    request.metadata.replaceOrAddString(requestID, forKey: Self.requestIDKey)
    var response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      throw tagged(error)
    }
    switch response.accepted {
    case .success(var contents):
      contents.metadata.addString(requestID, forKey: Self.requestIDKey)
      response.accepted = .success(contents)
      return response.aroundProducer { writer, producer in
        do {
          let trailers = try await producer(writer)
          finish(nil)
          return trailers
        } catch {
          throw tagged(error)
        }
      }
    case .failure(let error):
      response.accepted = .failure(tagged(error) as? RPCError ?? error)
      return response
    }
  }

  /// What every log line of a call carries: its request id, method and peer.
  static func callMetadata(requestID: String, context: ServerContext) -> Logger.Metadata {
    [
      "request-id": "\(requestID)",
      "rpc.method": "\(context.descriptor.fullyQualifiedMethod)",
      "peer": "\(context.remotePeer)",
    ]
  }
}
