import StorefrontTestKit
import Testing

/// The store contract, on the SQLite store and each way it can read (cache, tail, neither).
@Suite("Store contract: SQLite")
struct SQLiteStoreContractTests {
  @Test(
    "the store keeps every promise of the contract",
    arguments: StoreContract.cases,
    StoreFactory.sqliteVariants
  )
  func contract(_ promise: StoreContract.Case, _ factory: StoreFactory) async throws {
    try await promise.run(on: factory)
  }
}
