public import Foundation
public import StorefrontCore
public import Testing

/// Opens an empty store of one implementation in a directory the test owns. Each store's
/// test target runs ``StoreContract/cases`` against its factories.
public struct StoreFactory: Sendable, CustomTestStringConvertible {
  /// An open store, and how to close it.
  public struct Opened: Sendable {
    public var store: any StorefrontStore
    public var close: @Sendable () async throws -> Void

    public init(store: any StorefrontStore, close: @escaping @Sendable () async throws -> Void) {
      self.store = store
      self.close = close
    }
  }

  /// The store's name in test output.
  public let name: String
  let open: @Sendable (_ directory: URL, _ retention: ChangeRetention) async throws -> Opened

  /// - Parameters:
  ///   - name: the store's name in test output.
  ///   - open: opens an empty store whose local files go in `directory`, keeping changes as
  ///     `retention` says.
  public init(
    name: String,
    open:
      @escaping @Sendable (_ directory: URL, _ retention: ChangeRetention) async throws ->
      Opened
  ) {
    self.name = name
    self.open = open
  }

  public var testDescription: String { self.name }

  /// Runs `body` with a fresh, empty store, closed and deleted afterwards.
  public func withStore(
    retention: ChangeRetention = ChangeRetention(),
    _ body: (any StorefrontStore) async throws -> Void
  ) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let opened = try await self.open(directory.url, retention)
    do {
      try await body(opened.store)
    } catch {
      try? await opened.close()
      throw error
    }
    try await opened.close()
  }
}
