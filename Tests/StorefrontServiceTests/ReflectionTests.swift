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
