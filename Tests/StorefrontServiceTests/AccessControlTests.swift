import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService
import StorefrontTestKit
import SwiftProtobuf
import Testing

/// Who makes a call in the access tests.
enum Caller: String, CaseIterable, Sendable {
  case anonymous, admin, staff, shopper
  /// `Bearer` and something that is not a JWT.
  case malformed
  /// Not a Bearer token at all.
  case basic
  /// An admin's token whose time has passed.
  case expired
  /// An admin's token signed with another key.
  case otherKey
  /// A staff member's token, after the user was disabled.
  case disabled
}

/// Every RPC of the API, called so that it succeeds when it is allowed.
enum API: String, CaseIterable, Sendable {
  case getProduct, listProducts, watchProducts, downloadProductImage
  case createProduct, updateProduct, deleteProduct, importProducts, uploadProductImages
  case chat, followChat, sendChatMessage, login, createUser, listUsers, disableUser

  var action: Action {
    switch self {
    case .getProduct, .listProducts, .watchProducts, .downloadProductImage: .readCatalogue
    case .createProduct, .updateProduct, .deleteProduct, .importProducts, .uploadProductImages:
      .writeCatalogue
    case .chat, .followChat, .sendChatMessage: .chat
    case .login: .signIn
    case .createUser, .listUsers, .disableUser: .manageUsers
    }
  }

  /// The status `caller` must get: nil for OK.
  func expected(for caller: Caller) -> RPCError.Code? {
    if self == .login { return nil }  // a sign-in ignores any token sent along
    let role: Role
    switch caller {
    case .malformed, .basic, .expired, .otherKey, .disabled: return .unauthenticated
    case .anonymous:
      return AccessPolicy().allowedRoles(for: self.action) == nil ? nil : .unauthenticated
    case .admin: role = .admin
    case .staff: role = .staff
    case .shopper: role = .shopper
    }
    return AccessPolicy().allowedRoles(for: self.action)?.contains(role) == false
      ? .permissionDenied : nil
  }
}

/// What the store holds, coarsely: any write changes it.
struct StoreFingerprint: Equatable {
  var changeSequence: Int64
  var products: Int
  var users: [String]
  var chatSequence: Int64

  static func of(_ store: any StorefrontStore, room: String) async throws -> Self {
    Self(
      changeSequence: try await store.latestChangeSequence(),
      products: try await store.productCount(),
      users: try await store.users().map { "\($0.username):\($0.role):\($0.isEnabled)" },
      chatSequence: try await store.lastSequence(room: room)
    )
  }
}

@Suite("Access control over HTTP/2")
struct AccessControlTests {
  /// The signing key of the test servers, so that tests can make expired tokens.
  static let key = Array(repeating: UInt8(42), count: 32)

  static func withKeyFile(_ body: (URL) async throws -> Void) async throws {
    let file = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-key-\(UUID().uuidString)")
    try Data(Self.key).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    try await body(file)
  }

  /// The `authorization` metadata of each caller on `server`.
  static func credentials(on server: StorefrontServer) async throws -> [Caller: Metadata] {
    var metadata: [Caller: Metadata] = [.anonymous: [:]]
    for role in Role.allCases {
      let token = try await TestServer.token(for: "matrix-\(role)", role: role, on: server)
      metadata[Caller(rawValue: role.rawValue)!] = .bearer(token)
    }
    metadata[.malformed] = .bearer("not.a.token")
    metadata[.basic] = ["authorization": "Basic dGVzdC1hZG1pbjp0ZXN0LXBhc3N3b3Jk"]
    let admin = Principal(username: "matrix-admin", role: .admin)
    let past = try await AccessTokens(key: Self.key, lifetime: .seconds(60)) {
      Date().addingTimeInterval(-3_600)
    }
    metadata[.expired] = .bearer(try await past.issue(for: admin).token)
    let otherKey = try await AccessTokens(key: Array(repeating: 7, count: 32))
    metadata[.otherKey] = .bearer(try await otherKey.issue(for: admin).token)
    let disabled = try await TestServer.token(for: "matrix-disabled", role: .staff, on: server)
    try await server.store.setEnabled(false, username: "matrix-disabled")
    metadata[.disabled] = .bearer(disabled)
    return metadata
  }

  @Test(
    "every RPC answers every caller as the policy says, and a refusal writes nothing",
    arguments: API.allCases
  )
  func matrix(api: API) async throws {
    try await Self.withKeyFile { keyFile in
      try await TestServer.with(configure: { $0.auth.tokenKeyFile = keyFile }) { admin, server in
        let credentials = try await Self.credentials(on: server)
        let product = try await admin.create()
        let image = try await admin.uploadProductImages { writer in
          try await writer.write(UploadProductImagesTests.metadata(product.id))
          try await writer.write(.with { $0.chunk = Data(UploadProductImagesTests.png) })
        }.images[0].imageID
        try await TestServer.withGRPC(port: try await server.listeningPort) { grpc in
          for caller in Caller.allCases {
            let metadata = try #require(credentials[caller])
            // What a deletion removes is made before the store is looked at.
            let target: String
            switch api {
            case .deleteProduct: target = try await admin.create().id
            case .disableUser:
              target = "doomed-\(UUID().uuidString.prefix(8).lowercased())"
              _ = try await TestServer.token(for: target, on: server)
            default: target = ""
            }
            let before = try await StoreFingerprint.of(server.store, room: product.id)
            let code: RPCError.Code?
            do {
              try await Self.call(
                api,
                grpc: grpc,
                metadata: metadata,
                product: product,
                imageID: image,
                target: target
              )
              code = nil
            } catch let error as RPCError {
              code = error.code
            }
            #expect(code == api.expected(for: caller), "\(api) as \(caller)")
            if code == nil, api == .followChat || api == .sendChatMessage {
              // The call ended by cancelling its FollowChat, whose LEAVE the server stores a
              // moment later: wait for it, so that it is not taken for the next caller's.
              let left = try await eventually {
                try await server.store.recentMessages(room: product.id, before: .max, limit: 1)
                  .first?.kind == .leave
              }
              #expect(left, "\(api) as \(caller) never left")
            }
            if code != nil {
              let after = try await StoreFingerprint.of(server.store, room: product.id)
              #expect(after == before, "\(api) as \(caller) wrote")
            }
          }
        }
      }
    }
  }

  /// Calls `api` so that it succeeds when allowed; `target` is what DeleteProduct or
  /// DisableUser removes.
  static func call(
    _ api: API,
    grpc: GRPCClient<HTTP2ClientTransport.Posix>,
    metadata: Metadata,
    product: Storefront_V1_Product,
    imageID: String,
    target: String
  ) async throws {
    let products = ProductClient(wrapping: grpc)
    let users = Storefront_V1_UserService.Client(wrapping: grpc)
    switch api {
    case .getProduct:
      _ = try await products.getProduct(.with { $0.id = product.id }, metadata: metadata)
    case .listProducts:
      try await products.listProducts(.with { $0.pageSize = 1 }, metadata: metadata) {
        for try await _ in $0.messages {}
      }
    case .watchProducts:
      try await products.watchProducts(.with { _ in }, metadata: metadata) { response in
        _ = try response.accepted.get()
      }
    case .downloadProductImage:
      try await products.downloadProductImage(.with { $0.imageID = imageID }, metadata: metadata) {
        for try await _ in $0.messages {}
      }
    case .createProduct:
      _ = try await products.createProduct(.with { $0.product = .sample() }, metadata: metadata)
    case .updateProduct:
      _ = try await products.updateProduct(
        .with {
          $0.product = .with {
            $0.id = product.id
            $0.stock = 9
          }
          $0.updateMask = .with { $0.paths = ["stock"] }
        },
        metadata: metadata
      )
    case .deleteProduct:
      _ = try await products.deleteProduct(.with { $0.id = target }, metadata: metadata)
    case .importProducts:
      _ = try await products.importProducts(metadata: metadata) { writer in
        try await writer.write(.with { $0.product = .sample() })
      }
    case .uploadProductImages:
      _ = try await products.uploadProductImages(metadata: metadata) { writer in
        try await writer.write(UploadProductImagesTests.metadata(product.id))
        try await writer.write(.with { $0.chunk = Data(UploadProductImagesTests.png) })
      }
    case .chat:
      try await products.chat(metadata: metadata) { writer in
        try await writer.write(
          .with {
            $0.kind = .join
            $0.room = product.id
          }
        )
        try await writer.write(.with { $0.kind = .leave })
      } onResponse: { response in
        for try await _ in response.messages {}
      }
    case .followChat:
      try await products.followChat(.with { $0.room = product.id }, metadata: metadata) {
        var messages = $0.messages.makeAsyncIterator()
        _ = try await messages.next()  // the member's own JOIN: it is in the room
      }
    case .sendChatMessage:
      let say = Storefront_V1_SendChatMessageRequest.with {
        $0.room = product.id
        $0.text = "hello"
      }
      do {
        _ = try await products.sendChatMessage(say, metadata: metadata)
      } catch let error as RPCError where error.code == .failedPrecondition {
        // Allowed, but speaking needs a FollowChat of the room: follow it, then speak.
        try await products.followChat(.with { $0.room = product.id }, metadata: metadata) {
          var messages = $0.messages.makeAsyncIterator()
          _ = try await messages.next()
          _ = try await products.sendChatMessage(say, metadata: metadata)
        }
      }
    case .login:
      _ = try await Storefront_V1_AuthService.Client(wrapping: grpc).login(
        .with {
          $0.username = "matrix-admin"
          $0.password = TestServer.password
        },
        metadata: metadata
      )
    case .createUser:
      _ = try await users.createUser(
        .with {
          $0.username = "new-\(UUID().uuidString.prefix(8).lowercased())"
          $0.role = "shopper"
          $0.password = "a long password"
        },
        metadata: metadata
      )
    case .listUsers:
      _ = try await users.listUsers(.with { _ in }, metadata: metadata)
    case .disableUser:
      _ = try await users.disableUser(.with { $0.username = target }, metadata: metadata)
    }
  }

  @Test("every RPC of our services has an action: a new one cannot be left open by mistake")
  func everyMethodHasAnAction() {
    let methods =
      Storefront_V1_ProductService.Method.descriptors + Storefront_V1_AuthService.Method.descriptors
      + Storefront_V1_UserService.Method.descriptors
    for method in methods {
      #expect(AuthInterceptor.actions[method] != nil, "\(method)")
    }
    #expect(Set(API.allCases.map(\.rawValue)).count == methods.count)
  }
}

/// A service of ours that no one has put in the access table.
struct UnlistedService: RegistrableRPCService {
  static let method = MethodDescriptor(
    fullyQualifiedService: "storefront.v1.Unlisted",
    method: "Peek"
  )

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    router.registerHandler(
      forMethod: Self.method,
      deserializer: ProtobufDeserializer<Google_Protobuf_Empty>(),
      serializer: ProtobufSerializer<Google_Protobuf_Empty>()
    ) { _, _ in
      StreamingServerResponse(single: ServerResponse(message: Google_Protobuf_Empty()))
    }
  }
}
