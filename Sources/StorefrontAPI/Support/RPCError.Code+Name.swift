public import GRPCCore

extension RPCError.Code {
  /// The names gRPC gives its codes, by number.
  private static let names = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
  ]

  /// The code's name as gRPC and every client write it (`NOT_FOUND`), for logs, metrics
  /// and people.
  public var grpcName: String {
    Self.names.indices.contains(self.rawValue) ? Self.names[self.rawValue] : "\(self.rawValue)"
  }

  /// The name of a call's outcome: `OK` for success (nil), else the code's name.
  public static func grpcName(of code: Self?) -> String {
    code?.grpcName ?? "OK"
  }
}
