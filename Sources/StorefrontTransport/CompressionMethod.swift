/// A message compression that ``StorefrontServerTransport`` speaks (`grpc-encoding`).
public enum CompressionMethod: String, CaseIterable, Hashable, Sendable {
  case gzip
  case deflate

  /// The `grpc-encoding` name.
  var name: String { self.rawValue }
}
