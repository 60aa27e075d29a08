public import Logging
public import StorefrontAPI
public import StorefrontCore

/// The gRPC face of the catalogue. Each RPC does three things: translates the request into
/// domain terms, calls a use case of StorefrontCore, and translates the result back.
/// Errors become statuses in one place, ``StatusMapping``, run by ``StatusInterceptor``.
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

    /// The image limits these settings make.
    var imageLimits: ImageLimits {
      ImageLimits(
        maxImageBytes: self.maxImageBytes,
        maxImagesPerUpload: self.maxImagesPerUpload,
        downloadChunkBytes: self.downloadChunkBytes
      )
    }
  }

  let catalogue: Catalogue
  let chatRooms: ChatRooms
  let products: any ProductStore
  let changes: any ProductChangeStore
  let images: any ImageStore
  let content: any ImageContentStore
  let configuration: Configuration
  let logger: Logger
  let drain: DrainState

  /// - Parameters:
  ///   - products: where products live.
  ///   - changes: the log of product writes, for WatchProducts.
  ///   - images: where image records live.
  ///   - blobs: where image bytes live.
  ///   - chat: the live chat rooms.
  ///   - configuration: limits.
  ///   - logger: for events an operator may act on.
  ///   - drain: tells streams that shutdown has begun, so they keep their grace period.
  public init(
    products: any ProductStore,
    changes: any ProductChangeStore,
    images: any ImageStore,
    blobs: any ImageContentStore,
    chat: ChatHub,
    configuration: Configuration = Configuration(),
    logger: Logger,
    drain: DrainState = DrainState()
  ) {
    self.catalogue = Catalogue(
      products: products,
      blobs: blobs,
      chat: chat,
      configuration: Catalogue.Configuration(listBatchSize: configuration.listBatchSize)
    )
    self.chatRooms = ChatRooms(hub: chat, products: products)
    self.products = products
    self.changes = changes
    self.images = images
    self.content = blobs
    self.configuration = configuration
    self.logger = logger
    self.drain = drain
  }
}

extension ProductService: Storefront_V1_ProductService.SimpleServiceProtocol {}
