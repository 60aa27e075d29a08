public import GRPCCore

/// A client interceptor that sends `authorization: Bearer <token>` on every call that does not
/// carry an `authorization` of its own, for the CLI and tests.
public struct BearerTokenInterceptor: ClientInterceptor {
  private let token: String

  public init(token: String) {
    self.token = token
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws ->
      StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    let key = AuthInterceptor.authorizationKey
    if request.metadata[stringValues: key].first(where: { _ in true }) == nil {
      request.metadata.addString("Bearer \(self.token)", forKey: key)
    }
    return try await next(request, context)
  }
}
