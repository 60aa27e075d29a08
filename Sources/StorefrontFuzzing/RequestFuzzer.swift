public import Foundation
public import GRPCCore
import Logging
import StorefrontAPI
import StorefrontCore
import StorefrontSQLite
import StorefrontService

/// Sends arbitrary bytes as request messages to every Storefront RPC and reports how each call
/// ended, for the libFuzzer target and its regression tests.
///
/// The calls go through a real `GRPCServer` with Storefront's service, its status interceptor
/// and a real SQLite store, over an in-process transport (no HTTP/2 framing: the fastest) or
/// over loopback HTTP/2 on either server transport (``FuzzTransport``). The server decodes the
/// bytes exactly as it decodes a request off the wire, so this fuzzes decoding, validation,
/// the handlers and the error mapping of each RPC, and with HTTP/2 the transport's framing.
///
/// The server is assembled as `storefront serve` assembles it: the product, auth and user
/// services behind the status and access interceptors. Calls carry an admin's token, so that
/// every handler is reached, unless the input asks for none.
///
/// An input is one byte choosing the RPC (its low seven bits; the high bit sends no token),
/// then the request messages, each prefixed by its length as two big-endian bytes (the last
/// one takes whatever remains). Unary and server-streaming RPCs get the first message only,
/// as a generated client sends them.
public final class RequestFuzzer: Sendable {
  /// How a call ended.
  public enum Outcome: Equatable, Sendable, CustomStringConvertible {
    case ok
    case status(RPCError.Code)

    /// Whether the server answered as a server should answer bad input: OK or a definite
    /// status. `INTERNAL` and `UNKNOWN` mean an error nobody mapped; `DATA_LOSS` never fits.
    public var isClear: Bool {
      switch self {
      case .ok: true
      case .status(let code): ![.internalError, .unknown, .dataLoss].contains(code)
      }
    }

    public var description: String {
      switch self {
      case .ok: "OK"
      case .status(let code): "\(code)"
      }
    }
  }

  /// The RPCs, in the order the input's first byte picks them.
  public static let methods: [MethodDescriptor] = [
    Storefront_V1_ProductService.Method.GetProduct.descriptor,
    Storefront_V1_ProductService.Method.ListProducts.descriptor,
    Storefront_V1_ProductService.Method.UploadProductImages.descriptor,
    Storefront_V1_ProductService.Method.Chat.descriptor,
    Storefront_V1_ProductService.Method.CreateProduct.descriptor,
    Storefront_V1_ProductService.Method.UpdateProduct.descriptor,
    Storefront_V1_ProductService.Method.DeleteProduct.descriptor,
    Storefront_V1_ProductService.Method.WatchProducts.descriptor,
    Storefront_V1_ProductService.Method.DownloadProductImage.descriptor,
    Storefront_V1_ProductService.Method.ImportProducts.descriptor,
    Storefront_V1_AuthService.Method.Login.descriptor,
    Storefront_V1_UserService.Method.CreateUser.descriptor,
    Storefront_V1_UserService.Method.ListUsers.descriptor,
    Storefront_V1_UserService.Method.DisableUser.descriptor,
  ]

  /// RPCs whose request is a stream; every other one sends a single message.
  private static let streamingRequest: Set<MethodDescriptor> = [
    Storefront_V1_ProductService.Method.UploadProductImages.descriptor,
    Storefront_V1_ProductService.Method.Chat.descriptor,
    Storefront_V1_ProductService.Method.ImportProducts.descriptor,
  ]

  /// Password hashing as cheap as scrypt allows: sign-ins are fuzzed for their handling, not
  /// for the cost of a hash.
  private static let hashing = PasswordHash.Parameters(logN: 1, blockSize: 1, parallelism: 1)

  /// A live stream, left as soon as it has started.
  private static let watch = Storefront_V1_ProductService.Method.WatchProducts.descriptor

  /// The most response messages read from one call; the rest are cancelled with the call.
  private static let responsesRead = 64

  private let connection: FuzzConnection
  private let store: SQLiteStore
  /// The admin's `authorization` header.
  private let adminAuthorization: String

  /// Opens a store in `directory` (created if needed) and starts the server and a client,
  /// connected over `transport`.
  public init(directory: URL, transport: FuzzTransport = .inProcess) async throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let logger = Logger(label: "storefront.fuzz") { _ in SwiftLogNoOpLogHandler() }
    let store = try SQLiteStore(path: directory.appendingPathComponent("fuzz.sqlite").path)
    let catalogue = CachedCatalogue(store, feed: store.feed)
    let service = ProductService(
      products: catalogue,
      changes: catalogue,
      images: store,
      blobs: try ImageBlobStore(root: directory.appendingPathComponent("images")),
      chat: ChatHub(store: store),
      logger: logger
    )
    // A product and its chat room, so that inputs naming no real id still reach deep paths.
    _ = try await store.insert(contentsOf: [DemoCatalog.product(at: 0)])
    let hasher = PasswordHasher(parameters: Self.hashing)
    let admin = Principal(username: "fuzz-admin", role: .admin)
    try await store.insert(
      User(username: admin.username, role: admin.role, passwordHash: try hasher.hash("fuzz"))
    )
    let authenticator = Authenticator(
      users: store,
      tokens: try await AccessTokens(key: Array(repeating: 7, count: AccessTokens.minKeyBytes)),
      hasher: hasher
    )
    self.adminAuthorization = "Bearer \(try await authenticator.tokens.issue(for: admin).token)"
    self.connection = try await FuzzConnection.start(
      transport,
      services: StorefrontServer.apiServices(
        service,
        authenticator: authenticator,
        users: store,
        hasher: hasher
      ),
      interceptors: StorefrontServer.apiInterceptors(
        authenticator: authenticator,
        policy: AccessPolicy(),
        logger: logger
      )
    )
    self.store = store
  }

  /// Stops the client and the server and closes the store.
  public func stop() async {
    await self.connection.stop()
    try? self.store.close()
  }

  /// Sends `input` as described in the type's documentation; how the call ended.
  public func exercise(_ input: [UInt8]) async -> Outcome {
    guard let selector = input.first else { return .ok }
    let method = Self.methods[Int(selector & 0x7F) % Self.methods.count]
    let all = Self.messages(in: input.dropFirst())
    let messages = Self.streamingRequest.contains(method) ? all : [all.first ?? []]
    var metadata: Metadata = [:]
    if selector & 0x80 == 0 {
      metadata.addString(self.adminAuthorization, forKey: "authorization")
    }
    let request = StreamingClientRequest<[UInt8]>(metadata: metadata) { writer in
      try await writer.write(contentsOf: messages)
    }
    var options = CallOptions.defaults
    options.timeout = .seconds(5)
    do {
      try await self.connection.call(request, method, options) { response in
        // A live watch that has started would wait for changes: its start is enough.
        if method == Self.watch {
          _ = try response.accepted.get()
          return
        }
        var read = 0
        for try await _ in response.messages {
          read += 1
          if read >= Self.responsesRead { break }
        }
      }
      return .ok
    } catch let error as RPCError {
      return .status(error.code)
    } catch {
      return .status(.unknown)
    }
  }

  /// The length-prefixed messages of `bytes`.
  static func messages(in bytes: ArraySlice<UInt8>) -> [[UInt8]] {
    var messages: [[UInt8]] = []
    var rest = bytes
    while rest.count >= 2 {
      let length = Int(rest[rest.startIndex]) << 8 | Int(rest[rest.startIndex + 1])
      rest = rest.dropFirst(2)
      messages.append(Array(rest.prefix(length)))
      rest = rest.dropFirst(length)
    }
    return messages
  }
}

/// Messages as the bytes they are on the wire, neither encoded nor decoded by the client.
struct RawBytes: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
    Bytes(message)
  }

  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
    serializedMessageBytes.withUnsafeBytes { Array($0) }
  }
}
