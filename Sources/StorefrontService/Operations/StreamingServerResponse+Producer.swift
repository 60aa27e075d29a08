import GRPCCore

extension StreamingServerResponse {
  /// The part of a call that runs after the response headers: what writes the messages and
  /// returns the trailers.
  typealias Producer = @Sendable (RPCWriter<Message>) async throws -> Metadata

  /// Runs an accepted response's producer inside `around`, which gets the writer and the
  /// producer to call: how an interceptor sees the streaming part of a call (its outcome, its
  /// writes, task-local values). A refused response is returned as it is.
  func aroundProducer(
    _ around: @escaping @Sendable (RPCWriter<Message>, Producer) async throws -> Metadata
  ) -> Self {
    guard case .success(var contents) = self.accepted else { return self }
    let producer = contents.producer
    contents.producer = { writer in try await around(writer, producer) }
    var response = self
    response.accepted = .success(contents)
    return response
  }
}
