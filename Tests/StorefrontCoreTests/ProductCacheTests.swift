import Foundation
import StorefrontCore
import Testing

@Suite("ProductCache")
struct ProductCacheTests {
  static func product(_ id: String, name: String = "Cached") -> Product {
    Product(
      id: id,
      draft: ProductDraft(
        sku: "SKU-\(id)",
        name: name,
        description: "",
        category: "misc",
        priceCents: 100,
        currency: "USD",
        stock: 1
      ),
      createTime: Date(timeIntervalSince1970: 1_700_000_000),
      updateTime: Date(timeIntervalSince1970: 1_700_000_000),
      etag: "e-\(name)"
    )
  }

  @Test("a filled product is returned; an unknown id is not")
  func fillThenGet() {
    let cache = ProductCache(capacity: 10)
    cache.fill(Self.product("a"), ticket: cache.fillTicket())
    #expect(cache.product(id: "a") == Self.product("a"))
    #expect(cache.product(id: "b") == nil)
    #expect(cache.count == 1)
  }

  @Test("a fill whose read began before an invalidation is refused")
  func staleFillRefused() {
    let cache = ProductCache(capacity: 10)
    let ticket = cache.fillTicket()
    // A write of "a" commits and invalidates while the read of the old row is under way.
    cache.invalidate(ids: ["a"])
    cache.fill(Self.product("a", name: "Old"), ticket: ticket)
    #expect(cache.product(id: "a") == nil)
    // A read that begins afterwards may fill.
    cache.fill(Self.product("a", name: "New"), ticket: cache.fillTicket())
    #expect(cache.product(id: "a")?.draft.name == "New")
  }

  @Test("invalidation forgets exactly the ids named")
  func invalidateNamedIDs() {
    let cache = ProductCache(capacity: 10)
    for id in ["a", "b", "c"] { cache.fill(Self.product(id), ticket: cache.fillTicket()) }
    cache.invalidate(ids: ["a", "c", "unknown"])
    #expect(cache.product(id: "a") == nil)
    #expect(cache.product(id: "b") == Self.product("b"))
    #expect(cache.product(id: "c") == nil)
    #expect(cache.count == 1)
  }

  @Test("past its capacity the cache drops the oldest entries first")
  func evictsOldest() {
    let cache = ProductCache(capacity: 3)
    for id in ["a", "b", "c", "d", "e"] {
      cache.fill(Self.product(id), ticket: cache.fillTicket())
    }
    #expect(cache.count == 3)
    #expect(cache.product(id: "a") == nil)
    #expect(cache.product(id: "b") == nil)
    #expect(["c", "d", "e"].allSatisfy { cache.product(id: $0) != nil })
  }

  @Test("ids invalidated and filled again many times never grow it past its capacity")
  func churnStaysBounded() {
    let cache = ProductCache(capacity: 4)
    for round in 0 ..< 1_000 {
      let id = "p\(round % 6)"
      cache.fill(Self.product(id), ticket: cache.fillTicket())
      if round % 3 == 0 { cache.invalidate(ids: [id]) }
      #expect(cache.count <= 4)
    }
  }

  @Test("a capacity of 0 keeps nothing")
  func capacityZero() {
    let cache = ProductCache(capacity: 0)
    cache.fill(Self.product("a"), ticket: cache.fillTicket())
    #expect(cache.product(id: "a") == nil)
    #expect(cache.count == 0)
  }
}
