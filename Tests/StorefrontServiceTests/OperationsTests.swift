import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
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
        #expect(try await eventually { seen.withLock { $0 } == [.serving, .notServing] })
        try FileManager.default.moveItem(atPath: moved, toPath: server.store.path)
        #expect(try await health.check(.init()).status == .serving)
        #expect(try await eventually { seen.withLock { $0 } == [.serving, .notServing, .serving] })
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

@Suite("Server reflection over HTTP/2")
struct ReflectionTests {
  /// Sends `requests` on one stream; returns the answers.
  static func ask(
    _ client: ReflectionClient,
    _ requests: [Grpc_Reflection_V1_ServerReflectionRequest]
  ) async throws -> [Grpc_Reflection_V1_ServerReflectionResponse] {
    try await client.serverReflectionInfo { writer in
      try await writer.write(contentsOf: requests)
    } onResponse: { response in
      try await response.messages.reduce(into: []) { $0.append($1) }
    }
  }

  static func fileNames(_ answer: Grpc_Reflection_V1_ServerReflectionResponse) throws -> [String] {
    try answer.fileDescriptorResponse.fileDescriptorProto.map {
      try Google_Protobuf_FileDescriptorProto(serializedBytes: $0).name
    }
  }

  @Test("lists the services; describes a symbol and a file with their dependencies")
  func listAndDescribe() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let answers = try await Self.ask(
          ReflectionClient(wrapping: grpc),
          [
            .with { $0.listServices = "" },
            .with { $0.fileContainingSymbol = "storefront.v1.ProductService.GetProduct" },
            .with { $0.fileByFilename = "storefront/v1/product.proto" },
            .with { $0.fileContainingSymbol = "storefront.v1.ProductChange.Kind" },
          ]
        )
        #expect(answers.count == 4)
        #expect(
          answers[0].listServicesResponse.service.map(\.name) == [
            "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection", "storefront.v1.AuthService",
            "storefront.v1.ProductService", "storefront.v1.UserService",
          ]
        )
        let service = try Self.fileNames(answers[1])
        #expect(service.first == "storefront/v1/product_service.proto")
        #expect(
          Set(service).isSuperset(of: [
            "storefront/v1/product.proto", "google/protobuf/timestamp.proto",
            "google/protobuf/field_mask.proto", "storefront/v1/watch.proto",
          ])
        )
        #expect(Set(service).count == service.count)
        #expect(
          try Self.fileNames(answers[2]) == [
            "storefront/v1/product.proto", "google/protobuf/timestamp.proto",
          ]
        )
        #expect(try Self.fileNames(answers[3]).first == "storefront/v1/watch.proto")
        #expect(
          answers.allSatisfy {
            if case .errorResponse = $0.messageResponse { false } else { true }
          }
        )
      }
    }
  }

  @Test("an unknown symbol, file, extension or type gets NOT_FOUND and the stream goes on")
  func unknownThings() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let answers = try await Self.ask(
          ReflectionClient(wrapping: grpc),
          [
            .with { $0.fileContainingSymbol = "nobody.Nothing" },
            .with { $0.fileByFilename = "nobody.proto" },
            .with {
              $0.fileContainingExtension = .with {
                $0.containingType = "storefront.v1.Product"
                $0.extensionNumber = 100
              }
            },
            .with { $0.allExtensionNumbersOfType = "nobody.Nothing" },
            .with { $0.allExtensionNumbersOfType = "storefront.v1.Product" },
          ]
        )
        #expect(answers.count == 5)
        #expect(answers.prefix(4).allSatisfy { $0.errorResponse.errorCode == 5 })
        #expect(answers[4].allExtensionNumbersResponse.baseTypeName == "storefront.v1.Product")
        #expect(answers[0].originalRequest.fileContainingSymbol == "nobody.Nothing")
      }
    }
  }

  @Test("v1alpha answers as v1 does")
  func v1alpha() async throws {
    try await TestServer.with { _, server in
      try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
        let client = Grpc_Reflection_V1alpha_ServerReflection.Client(wrapping: grpc)
        let answers = try await client.serverReflectionInfo { writer in
          try await writer.write(.with { $0.listServices = "" })
        } onResponse: { response in
          try await response.messages.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.first?.listServicesResponse.service.count == 6)
      }
    }
  }
}

@Suite("Metrics over HTTP")
struct MetricsTests {
  /// GETs `path` from the metrics endpoint; the status and the body.
  static func get(_ path: String, port: Int) async throws -> (Int, String) {
    let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
    let (data, response) = try await URLSession.shared.data(from: url)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }

  @Test("GET /metrics shows each RPC by method and code, latency, store and upload bytes")
  func scrape() async throws {
    let withMetrics: (inout StorefrontServer.Configuration) -> Void = { $0.metricsPort = 0 }
    try await TestServer.with(configure: withMetrics) { client, server in
      let port = try #require(server.metricsPort)
      let product = try await client.create()
      try await expectRPCError(.notFound) {
        _ = try await client.getProduct(.with { $0.id = "p_missing" })
      }
      _ = try await client.uploadProductImages { writer in
        try await writer.write(UploadProductImagesTests.metadata(product.id))
        try await writer.write(
          contentsOf: UploadProductImagesTests.chunks(UploadProductImagesTests.png)
        )
      }
      let (status, body) = try await Self.get("/metrics", port: port)
      #expect(status == 200)
      let lines = Set(body.split(separator: "\n").map(String.init))
      #expect(
        lines.contains(
          #"storefront_rpc_handled_total{method="storefront.v1.ProductService/CreateProduct",code="ok"} 1"#
        )
      )
      #expect(
        lines.contains(
          #"storefront_rpc_handled_total{method="storefront.v1.ProductService/GetProduct",code="notFound"} 1"#
        )
      )
      #expect(
        lines.contains(
          "storefront_image_upload_bytes_total \(UploadProductImagesTests.png.count)"
        )
      )
      #expect(
        body.contains(
          #"storefront_rpc_duration_seconds_count{method="storefront.v1.ProductService/CreateProduct",code="ok"} 1"#
        )
      )
      #expect(body.contains(#"storefront_store_query_duration_seconds_count{kind="write"}"#))
      #expect(lines.contains("storefront_chat_rooms 0.0"))
      let (missing, _) = try await Self.get("/other", port: port)
      #expect(missing == 404)
    }
  }
}

@Suite("Compression over HTTP/2")
struct CompressionTests {
  /// Calls GetProduct with a gzip-compressed request on a server configured by `configure`.
  static func compressedGet(
    configure: @escaping (inout StorefrontServer.Configuration) -> Void
  ) async throws -> RPCError.Code? {
    var code: RPCError.Code?
    try await TestServer.with(configure: configure) { client, server in
      let product = try await client.create()
      var config = HTTP2ClientTransport.Posix.Config.defaults
      config.compression = .init(algorithm: .gzip, enabledAlgorithms: [.gzip, .deflate])
      try await withGRPCClient(
        transport: .http2NIOPosix(
          target: .ipv4(address: "127.0.0.1", port: try await server.listeningPort),
          transportSecurity: .plaintext,
          config: config
        )
      ) { grpc in
        var options = CallOptions.defaults
        options.compression = .gzip
        do {
          let found = try await ProductClient(wrapping: grpc).getProduct(
            .with { $0.id = product.id },
            options: options
          )
          #expect(found.product == product)
        } catch let error as RPCError {
          code = error.code
        }
      }
    }
    return code
  }

  @Test("with compression enabled, a gzip-compressed request is served")
  func gzipAccepted() async throws {
    let code = try await Self.compressedGet { $0.transport.compression = true }
    #expect(code == nil)
  }

  @Test("by default a compressed request is refused: the transport leaks on them")
  func gzipRefusedByDefault() async throws {
    let code = try await Self.compressedGet { _ in }
    #expect(code == .unimplemented)
  }
}

@Suite("Draining")
struct DrainTests {
  /// Runs a server in a `ServiceGroup` whose grace period is `grace`, with a client; returns
  /// after the group has stopped. `body` gets the client, the group and the server.
  static func withDrainingServer(
    grace: Duration,
    directory: URL,
    _ body: @escaping @Sendable (ProductClient, ServiceGroup, SQLiteStore) async throws -> Void
  ) async throws {
    // One product per import batch: a committed product shows that a stream is running.
    var settings = StorefrontServer.Configuration(port: 0, dataDirectory: directory)
    settings.service.importBatchSize = 1
    settings.transport.implementation = TestServer.transport
    let server = try await StorefrontServer(
      configuration: settings,
      logger: Logger(label: "test") { _ in InMemoryLogHandler() }
    )
    var configuration = ServiceGroupConfiguration(
      services: [.init(service: server)],
      logger: Logger(label: "test") { _ in InMemoryLogHandler() }
    )
    configuration.maximumGracefulShutdownDuration = grace
    let group = ServiceGroup(configuration: configuration)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let token = try await TestServer.token(for: "drain-staff", role: .staff, on: server)
      try await TestServer.withClient(port: try await server.listeningPort, token: token) {
        client in
        try await body(client, group, server.store)
      }
      try await tasks.waitForAll()
    }
  }

  static func productCount(in directory: URL) async throws -> Int {
    let store = try SQLiteStore(path: directory.appendingPathComponent("storefront.sqlite").path)
    defer { try? store.close() }
    return try await store.productCount()
  }

  @Test("a client stream that ends within the grace period completes and is acknowledged")
  func streamFinishesWithinGrace() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-drain-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let summary = Mutex(Storefront_V1_ImportProductsResponse())
    try await Self.withDrainingServer(grace: .seconds(5), directory: directory) {
      client,
      group,
      store in
      let result = try await client.importProducts { writer in
        try await writer.write(.with { $0.product = .sample() })
        // The stream runs on the server before shutdown begins: a stream the server has not
        // seen when it starts shutting down is refused (RST_STREAM, REFUSED_STREAM).
        let running = try await eventually { try await store.productCount() == 1 }
        #expect(running)
        await group.triggerGracefulShutdown()
        try await Task.sleep(for: .milliseconds(200))
        try await writer.write(.with { $0.product = .sample() })
      }
      summary.withLock { $0 = result }
    }
    #expect(summary.withLock { $0.created } == 2)
    #expect(try await Self.productCount(in: directory) == 2)
  }

  @Test("a call still streaming when the grace period ends is cut, and the server stops")
  func graceEnds() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-drain-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let ending = Mutex<RPCError.Code?>(nil)
    try await Self.withDrainingServer(grace: .milliseconds(500), directory: directory) {
      client,
      group,
      store in
      _ = try await client.create()
      let importing = Task {
        try await client.importProducts { writer in
          try await writer.write(.with { $0.product = .sample() })
          // Never ends on its own.
          try await Task.sleep(for: .seconds(60))
        }
      }
      let running = try await eventually { try await store.productCount() == 2 }
      #expect(running)
      await group.triggerGracefulShutdown()
      do {
        _ = try await importing.value
      } catch let error as RPCError {
        ending.withLock { $0 = error.code }
      }
    }
    // The stream was cut (the server's grace ran out), and the server stopped all the same.
    #expect(ending.withLock { $0 } != nil)
    // Every acknowledged write, and each committed batch, is on disk.
    #expect(try await Self.productCount(in: directory) == 2)
  }
}
