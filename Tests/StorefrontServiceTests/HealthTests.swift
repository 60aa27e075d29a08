import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

typealias HealthClient = Grpc_Health_V1_Health.Client<HTTP2ClientTransport.Posix>
typealias ReflectionClient = Grpc_Reflection_V1_ServerReflection.Client<HTTP2ClientTransport.Posix>

@Suite("Health over HTTP/2")
struct HealthTests {
  @Test("Check and List: the server and ProductService are SERVING; an unknown one NOT_FOUND")
  func checkAndList() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let health = HealthClient(wrapping: grpc)
        for service in ["", "storefront.v1.ProductService"] {
          let status = try await health.check(.with { $0.service = service }).status
          #expect(status == .serving, "\(service)")
        }
        try await expectRPCError(.notFound) {
          _ = try await health.check(.with { $0.service = "nobody.Service" })
        }
        let list = try await health.list(.init()).statuses
        #expect(
          list.mapValues(\.status) == ["": .serving, "storefront.v1.ProductService": .serving]
        )
      }
    }
  }

  @Test("a store that cannot be reached is NOT_SERVING, and SERVING again when it is back")
  func storeUnreachable() async throws {
    let quickProbes: (inout StorefrontServer.Configuration) -> Void = {
      $0.healthProbeInterval = .milliseconds(50)
    }
    try await TestServer.with(configure: quickProbes) { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let health = HealthClient(wrapping: grpc)
        let seen = Mutex<[Grpc_Health_V1_HealthCheckResponse.ServingStatus]>([])
        let watch = Task {
          try await health.watch(.with { $0.service = "" }) { response in
            for try await message in response.messages {
              seen.withLock { $0.append(message.status) }
            }
          }
        }
        defer { watch.cancel() }
        #expect(try await eventually { seen.withLock { $0 } == [.serving] })
        let moved = server.store.path + ".moved"
        try FileManager.default.moveItem(atPath: server.store.path, toPath: moved)
        #expect(try await health.check(.init()).status == .notServing)
        #expect(
          try await eventually { seen.withLock { $0 } == [.serving, .notServing] }
        )
        try FileManager.default.moveItem(atPath: moved, toPath: server.store.path)
        #expect(try await health.check(.init()).status == .serving)
        #expect(
          try await eventually {
            seen.withLock { $0 } == [.serving, .notServing, .serving]
          }
        )
      }
    }
  }

  @Test("Watch of an unknown service says SERVICE_UNKNOWN; shutdown sends NOT_SERVING and ends")
  func watchUnknownAndShutdown() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let health = HealthClient(wrapping: grpc)
        let received = Locked(0)
        let statuses = try await withThrowingTaskGroup(
          of: [Grpc_Health_V1_HealthCheckResponse.ServingStatus].self
        ) { group in
          for service in ["", "nobody.Service"] {
            group.addTask {
              try await health.watch(.with { $0.service = service }) { response in
                var statuses: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
                for try await message in response.messages {
                  statuses.append(message.status)
                  received.withLock { $0 += 1 }
                }
                return statuses
              }
            }
          }
          // Both watches are running on the server before shutdown begins.
          let running = try await eventually { received.withLock { $0 } == 2 }
          #expect(running)
          server.beginShutdown()
          return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.contains([.serving, .notServing]))
        #expect(statuses.contains([.serviceUnknown]))
        #expect(server.health.isShuttingDown)
      }
    }
  }
}
