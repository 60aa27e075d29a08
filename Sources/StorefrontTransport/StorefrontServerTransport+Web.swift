public import NIOCore

extension StorefrontServerTransport {
  /// gRPC-Web, the Connect protocol and a static web page, served on the gRPC port beside
  /// gRPC, over HTTP/2 and HTTP/1.1 (the first bytes of a connection tell which).
  ///
  /// The transport knows messages only as bytes: what it must know of each method to serve
  /// it to a browser (its kind, how its messages read as JSON, whether a GET may call it)
  /// comes from here, by the method's path (`/storefront.v1.ProductService/GetProduct`).
  public struct Web: Sendable {
    /// The origins allowed to call from another origin (`https://shop.example`); `*` allows
    /// any. Empty: same-origin only.
    public var allowedOrigins: [String] = []
    /// The methods a browser may call, by path; others answer UNIMPLEMENTED to web requests.
    public var methods: [String: Method] = [:]
    /// Static files by path (`/index.html`, `/app.js`); `/` serves `/index.html`.
    public var files: [String: StaticFile] = [:]

    /// No origins, methods or files; set the fields.
    public init() {}

    /// Whether `origin` may call from another origin.
    func allows(origin: Substring) -> Bool {
      self.allowedOrigins.contains { $0 == "*" || $0 == origin }
    }
  }

  /// What the transport must know of one method to serve it to a browser.
  public struct Method: Sendable {
    /// The four shapes of an RPC.
    public enum Kind: Sendable {
      case unary, serverStreaming, clientStreaming, bidirectionalStreaming
    }

    public var kind: Kind
    /// Turns the method's messages into JSON and back; nil: binary protobuf only.
    public var json: JSONCodec?
    /// Whether the method has no side effects, so that Connect may call it with GET.
    public var allowsGET: Bool

    public init(kind: Kind, json: JSONCodec?, allowsGET: Bool = false) {
      self.kind = kind
      self.json = json
      self.allowsGET = allowsGET
    }
  }

  /// One method's messages in protobuf's canonical JSON mapping.
  public struct JSONCodec: Sendable {
    /// A request in JSON to its binary protobuf encoding.
    public var request: @Sendable (ByteBuffer) throws -> ByteBuffer
    /// A response in binary protobuf to JSON.
    public var response: @Sendable (ByteBuffer) throws -> ByteBuffer

    public init(
      request: @escaping @Sendable (ByteBuffer) throws -> ByteBuffer,
      response: @escaping @Sendable (ByteBuffer) throws -> ByteBuffer
    ) {
      self.request = request
      self.response = response
    }
  }

  /// A file of the web page.
  public struct StaticFile: Sendable {
    public var contentType: String
    public var bytes: ByteBuffer

    public init(contentType: String, bytes: ByteBuffer) {
      self.contentType = contentType
      self.bytes = bytes
    }
  }
}
