import StorefrontTestKit
import Testing

/// The store contract, on the PostgreSQL store and each way it can read. Runs when
/// `STOREFRONT_TEST_POSTGRES_URL` names a server (scripts/test.sh always sets it); without
/// it the suite is skipped, and Swift Testing says so. Serialised: each case opens a
/// database and a pool of its own, and all at once would pass the server's connection limit.
@Suite(
  "Store contract: PostgreSQL",
  .enabled(if: TestDatabase.isConfigured, "STOREFRONT_TEST_POSTGRES_URL is unset"),
  .serialized
)
struct PostgresStoreContractTests {
  @Test(
    "the store keeps every promise of the contract",
    arguments: StoreContract.cases,
    StoreFactory.postgresVariants
  )
  func contract(_ promise: StoreContract.Case, _ factory: StoreFactory) async throws {
    try await promise.run(on: factory)
  }
}
