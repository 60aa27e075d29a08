public import Logging
public import StorefrontAPI
public import StorefrontCore

/// The gRPC face of the catalogue. Each RPC does three things: translates the request into
/// domain terms, calls a use case of StorefrontCore, and translates the result back.
/// Errors become statuses in one place, ``StatusMapping``, run by ``StatusInterceptor``.
public struct ProductService: Sendable {
  /// Limits and sizes of the service; defaults suit production.
  public struct Configuration: Sendable {
    /// Image sizes, counts and download chunks.
    public var images: ImageLimits
    /// How many products ListProducts reads from the store at a time.
    public var listBatchSize: Int
    /// How many changes WatchProducts reads from the change log at a time.
    public var watchBatchSize: Int
    /// How many products ImportProducts commits in one transaction.
    public var importBatchSize: Int

    public init(
      images: ImageLimits = ImageLimits(),
      listBatchSize: Int = 256,
      watchBatchSize: Int = 256,
      importBatchSize: Int = 500
    ) {
      self.images = images
      self.listBatchSize = listBatchSize
      self.watchBatchSize = watchBatchSize
      self.importBatchSize = importBatchSize
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
