/// A store whose catalogue reads go through its ``ChangeFeed``: products by id from the
/// cache, changes from the tail when a watcher has caught up, waits on the feed's signal.
/// Everything else, writes included, goes to the store, which records its commits in the
/// same feed; so any store gets the same cache and tail by being wrapped in this.
public struct CachedCatalogue<Base: ProductStore & ProductChangeStore>: Sendable {
  /// The store itself.
  public let base: Base
  /// The feed `base` records its commits in.
  public let feed: ChangeFeed

  /// - Parameters:
  ///   - base: the store.
  ///   - feed: the feed `base` records every commit in.
  public init(_ base: Base, feed: ChangeFeed) {
    self.base = base
    self.feed = feed
  }
}

extension CachedCatalogue: ProductStore {
  /// A cached product needs no read of the store; one that is not is read and cached,
  /// unless a write invalidated it meanwhile.
  public func product(id: String) async throws -> Product {
    let cache = self.feed.cache
    if let cached = cache.product(id: id) { return cached }
    let ticket = cache.fillTicket()
    let product = try await self.base.product(id: id)
    cache.fill(product, ticket: ticket)
    return product
  }

  public func product(sku: String) async throws -> Product? {
    try await self.base.product(sku: sku)
  }

  public func products(matching filter: ProductFilter, limit: Int) async throws -> [Product] {
    try await self.base.products(matching: filter, limit: limit)
  }

  public func insert(_ draft: ProductDraft) async throws -> Product {
    try await self.base.insert(draft)
  }

  public func insert(contentsOf drafts: [ProductDraft]) async throws -> Int {
    try await self.base.insert(contentsOf: drafts)
  }

  public func update(_ update: ProductUpdate) async throws -> Product {
    try await self.base.update(update)
  }

  public func delete(id: String, expectedETag: String?) async throws -> [String] {
    try await self.base.delete(id: id, expectedETag: expectedETag)
  }

  public func productCount() async throws -> Int {
    try await self.base.productCount()
  }

  public func upsert(_ drafts: [ProductDraft]) async throws -> [UpsertOutcome] {
    try await self.base.upsert(drafts)
  }
}

extension CachedCatalogue: ProductChangeStore {
  public func latestChangeSequence() async throws -> Int64 {
    try await self.base.latestChangeSequence()
  }

  /// From the tail when it holds every change after `sequence` (a watcher that has caught
  /// up), else from the store's log.
  public func changes(
    after sequence: Int64,
    matching filter: ChangeFilter,
    limit: Int
  ) async throws -> (changes: [ProductChange], through: Int64) {
    if let answer = self.feed.tail.changes(after: sequence, matching: filter, limit: limit) {
      return answer
    }
    return try await self.base.changes(after: sequence, matching: filter, limit: limit)
  }

  public func waitForChange(after sequence: Int64) async throws {
    try await self.feed.waitForChange(after: sequence)
  }
}

extension CachedCatalogue: ImageStore where Base: ImageStore {
  public func attach(_ images: [ImageRecord]) async throws {
    try await self.base.attach(images)
  }

  public func image(id: String) async throws -> ImageRecord {
    try await self.base.image(id: id)
  }

  public func referencedImageHashes() async throws -> Set<String> {
    try await self.base.referencedImageHashes()
  }
}

extension CachedCatalogue: ChatStore where Base: ChatStore {
  @discardableResult
  public func append(_ record: ChatRecord) async throws -> ChatRecord {
    try await self.base.append(record)
  }

  public func lastSequence(room: String) async throws -> Int64 {
    try await self.base.lastSequence(room: room)
  }

  public func recentMessages(
    room: String,
    before sequence: Int64,
    limit: Int
  ) async throws -> [ChatRecord] {
    try await self.base.recentMessages(room: room, before: sequence, limit: limit)
  }

  public func messages(
    room: String,
    after sequence: Int64,
    limit: Int
  ) async throws -> [ChatRecord] {
    try await self.base.messages(room: room, after: sequence, limit: limit)
  }

  public var chatNotices: ChatNotices? { self.base.chatNotices }
}

extension CachedCatalogue: UserStore where Base: UserStore {
  public func insert(_ user: User) async throws {
    try await self.base.insert(user)
  }

  public func user(named username: String) async throws -> User? {
    try await self.base.user(named: username)
  }

  public func setEnabled(_ isEnabled: Bool, username: String) async throws {
    try await self.base.setEnabled(isEnabled, username: username)
  }

  public func users() async throws -> [User] {
    try await self.base.users()
  }
}
