public import GRPCCore
public import StorefrontAPI
import StorefrontCore
import SwiftProtobuf

/// What the health service reports: whether the server serves, service by service.
///
/// A service is SERVING while the server is not shutting down and its store answers; the
/// store is probed on every Check and, for watchers, every ``probeInterval``.
public final class HealthStatus: Sendable {
  /// The services the server reports on, besides "" (the whole server).
  public let services: Set<String>
  /// How often a Watch probes the store.
  public let probeInterval: Duration
  private let probe: @Sendable () async -> Bool
  /// The server's shutdown: from its start every service is NOT_SERVING, and watches keep
  /// running through the transport's shutdown flag to say so.
  let drain: DrainState

  /// - Parameters:
  ///   - services: the fully-qualified names of the services to report on.
  ///   - probeInterval: how often a Watch checks the store.
  ///   - drain: the server's shutdown flag.
  ///   - probe: true while the store answers.
  public init(
    services: Set<String>,
    probeInterval: Duration = .seconds(1),
    drain: DrainState,
    probe: @escaping @Sendable () async -> Bool
  ) {
    self.services = services
    self.probeInterval = probeInterval
    self.drain = drain
    self.probe = probe
  }

  /// Whether shutdown has begun.
  public var isShuttingDown: Bool { self.drain.hasBegun }

  /// The status of `service`, probing the store; nil for a service the server does not have.
  func status(of service: String) async -> Grpc_Health_V1_HealthCheckResponse.ServingStatus? {
    guard service.isEmpty || self.services.contains(service) else { return nil }
    if self.isShuttingDown { return .notServing }
    return await self.probe() ? .serving : .notServing
  }

  /// Returns after ``probeInterval``, or sooner when shutdown begins.
  func pause() async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await Task.sleep(for: self.probeInterval) }
      group.addTask { try await self.drain.waitUntilBegun() }
      defer { group.cancelAll() }
      try await group.next()
    }
  }
}

/// The standard `grpc.health.v1.Health` service: Check, List and Watch.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  private let health: HealthStatus

  public init(status: HealthStatus) {
    self.health = status
  }

  /// The service's status now. Errors: NOT_FOUND for a service the server does not have.
  public func check(
    request: Grpc_Health_V1_HealthCheckRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthCheckResponse {
    guard let status = await self.health.status(of: request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
    }
    return .with { $0.status = status }
  }

  /// Every service's status now.
  public func list(
    request: Grpc_Health_V1_HealthListRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthListResponse {
    var response = Grpc_Health_V1_HealthListResponse()
    for service in self.health.services.union([""]) {
      if let status = await self.health.status(of: service) {
        response.statuses[service] = .with { $0.status = status }
      }
    }
    return response
  }

  /// The status now, then each change. SERVICE_UNKNOWN for a service the server does not
  /// have. At shutdown the stream sends NOT_SERVING and ends.
  public func watch(
    request: Grpc_Health_V1_HealthCheckRequest,
    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    try await context.cancellingWithRPC(unlessDraining: self.health.drain) {
      var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
      while true {
        let status = await self.health.status(of: request.service) ?? .serviceUnknown
        if status != last {
          try await response.write(.with { $0.status = status })
          last = status
        }
        if self.health.isShuttingDown { return }
        try await self.health.pause()
      }
    }
  }
}
