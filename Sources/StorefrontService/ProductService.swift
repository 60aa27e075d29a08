public import Logging
import StorefrontAPI
public import StorefrontCore

/// The gRPC face of the catalogue: decodes and validates requests, calls Core and the stores,
/// and encodes the answers. Errors are mapped to status codes by ``StatusInterceptor``.
public struct ProductService: Sendable {
  /// Limits and sizes of the service; defaults suit production.
  public struct Configuration: Sendable {
    /// The largest image accepted, in bytes.
    public var maxImageBytes: Int64
    /// How many images one upload stream may carry.
    public var maxImagesPerUpload: Int
    /// How many products ListProducts reads from the store at a time.
    public var listBatchSize: Int
    /// How many changes WatchProducts reads from the change log at a time.
    public var watchBatchSize: Int
    /// The chunk size of a download that does not ask for one.
    public var downloadChunkBytes: Int
    /// How many products ImportProducts commits in one transaction.
    public var importBatchSize: Int

    public init(
      maxImageBytes: Int64 = 20 * 1024 * 1024,
      maxImagesPerUpload: Int = 16,
      listBatchSize: Int = 256,
      watchBatchSize: Int = 256,
      downloadChunkBytes: Int = 64 * 1024,
      importBatchSize: Int = 500
    ) {
      self.maxImageBytes = maxImageBytes
      self.maxImagesPerUpload = maxImagesPerUpload
      self.listBatchSize = listBatchSize
      self.watchBatchSize = watchBatchSize
      self.downloadChunkBytes = downloadChunkBytes
      self.importBatchSize = importBatchSize
    }
  }

  let products: any ProductStore
  let changes: any ProductChangeStore
  let images: any ImageStore
  let blobs: ImageBlobStore
  let chat: ChatHub
  let configuration: Configuration
  let logger: Logger
  let drain: DrainState

  /// - Parameters:
  ///   - products: where products live.
  ///   - changes: the log of product writes, for WatchProducts.
  ///   - images: where image records live.
  ///   - blobs: where image files live.
  ///   - chat: the live chat rooms.
  ///   - configuration: limits.
  ///   - logger: for events an operator may act on.
  ///   - drain: tells streams that shutdown has begun, so they keep their grace period.
  public init(
    products: any ProductStore,
    changes: any ProductChangeStore,
    images: any ImageStore,
    blobs: ImageBlobStore,
    chat: ChatHub,
    configuration: Configuration = Configuration(),
    logger: Logger,
    drain: DrainState = DrainState()
  ) {
    self.products = products
    self.changes = changes
    self.images = images
    self.blobs = blobs
    self.chat = chat
    self.configuration = configuration
    self.logger = logger
    self.drain = drain
  }
}

extension ProductService {
  /// The longest identifier accepted; longer ones cannot exist.
  static let maxIDLength = 128

  /// Checks that a request names an id.
  /// - Throws: ``StorefrontError`` `invalidArgument` naming `field`.
  static func requireID(_ id: String, field: String) throws(StorefrontError) -> String {
    guard !id.isEmpty else {
      throw StorefrontError.invalidArgument(field: field, "must not be empty")
    }
    guard id.utf8.count <= Self.maxIDLength else {
      throw StorefrontError.invalidArgument(
        field: field,
        "must be at most \(Self.maxIDLength) bytes"
      )
    }
    return id
  }
}
