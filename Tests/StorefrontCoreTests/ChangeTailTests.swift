import Foundation
import StorefrontCore
import Testing

@Suite("ChangeTail")
struct ChangeTailTests {
  static func change(
    _ sequence: Int64,
    id: String = "p",
    category: String = "misc"
  ) -> ProductChange {
    var product = ProductCacheTests.product(id)
    product.draft.category = category
    return ProductChange(
      sequence: sequence,
      kind: .updated,
      product: product,
      changeTime: Date(timeIntervalSince1970: 1_700_000_000 + Double(sequence))
    )
  }

  static func changes(_ sequences: ClosedRange<Int64>) -> [ProductChange] {
    sequences.map { Self.change($0) }
  }

  @Test("before any commit is recorded it answers nothing: the log must be read")
  func emptyAnswersNil() {
    let tail = ChangeTail(capacity: 10)
    #expect(tail.changes(after: 0, matching: ChangeFilter(), limit: 10) == nil)
  }

  @Test("after commits it answers the changes after a sequence, up to the head")
  func answersAfterSequence() throws {
    let tail = ChangeTail(capacity: 10)
    tail.record(Self.changes(1 ... 3), after: 0, through: 3, prunedThrough: 0)
    tail.record(Self.changes(4 ... 4), after: 3, through: 4, prunedThrough: 0)
    let all = try #require(tail.changes(after: 0, matching: ChangeFilter(), limit: 10))
    #expect(all.changes.map(\.sequence) == [1, 2, 3, 4])
    #expect(all.through == 4)
    let caughtUp = try #require(tail.changes(after: 4, matching: ChangeFilter(), limit: 10))
    #expect(caughtUp.changes.isEmpty)
    #expect(caughtUp.through == 4)
    let middle = try #require(tail.changes(after: 2, matching: ChangeFilter(), limit: 10))
    #expect(middle.changes.map(\.sequence) == [3, 4])
  }

  @Test("a limit stops at the last change it returns, as the log does")
  func limitStopsThrough() throws {
    let tail = ChangeTail(capacity: 10)
    tail.record(Self.changes(1 ... 5), after: 0, through: 5, prunedThrough: 0)
    let first = try #require(tail.changes(after: 0, matching: ChangeFilter(), limit: 2))
    #expect(first.changes.map(\.sequence) == [1, 2])
    #expect(first.through == 2)
  }

  @Test("filters match by id and by category, the one before the change included")
  func filters() throws {
    let tail = ChangeTail(capacity: 10)
    var moved = Self.change(3, id: "b", category: "garden")
    moved.previousCategory = "kitchen"
    tail.record(
      [Self.change(1, id: "a", category: "kitchen"), Self.change(2, id: "b"), moved],
      after: 0,
      through: 3,
      prunedThrough: 0
    )
    let kitchen = try #require(
      tail.changes(after: 0, matching: ChangeFilter(category: "kitchen"), limit: 10)
    )
    #expect(kitchen.changes.map(\.sequence) == [1, 3])
    #expect(kitchen.through == 3)
    let b = try #require(tail.changes(after: 0, matching: ChangeFilter(ids: ["b"]), limit: 10))
    #expect(b.changes.map(\.sequence) == [2, 3])
    let none = try #require(
      tail.changes(after: 0, matching: ChangeFilter(category: "toys\0"), limit: 10)
    )
    #expect(none.changes.isEmpty)
    #expect(none.through == 3)
  }

  @Test("a category matches byte for byte, as the log's SQL does: not by canonical equivalence")
  func categoryBytes() throws {
    let tail = ChangeTail(capacity: 10)
    // "café" with one character for "é", then with "e" and a combining accent.
    tail.record(
      [Self.change(1, category: "caf\u{E9}")],
      after: 0,
      through: 1,
      prunedThrough: 0
    )
    let composed = try #require(
      tail.changes(after: 0, matching: ChangeFilter(category: "caf\u{E9}"), limit: 10)
    )
    #expect(composed.changes.count == 1)
    let decomposed = try #require(
      tail.changes(after: 0, matching: ChangeFilter(category: "cafe\u{301}"), limit: 10)
    )
    #expect(decomposed.changes.isEmpty)
  }

  @Test(
    "sequences older than it keeps go to the log: past its capacity, or pruned by the log",
    arguments: [(capacity: 3, prunedThrough: Int64(0)), (capacity: 10, prunedThrough: 2)]
  )
  func olderGoesToTheLog(capacity: Int, prunedThrough: Int64) throws {
    let tail = ChangeTail(capacity: capacity)
    tail.record(Self.changes(1 ... 2), after: 0, through: 2, prunedThrough: 0)
    tail.record(Self.changes(3 ... 5), after: 2, through: 5, prunedThrough: prunedThrough)
    #expect(tail.changes(after: 1, matching: ChangeFilter(), limit: 10) == nil)
    let kept = try #require(tail.changes(after: 2, matching: ChangeFilter(), limit: 10))
    #expect(kept.changes.map(\.sequence) == [3, 4, 5])
  }

  @Test("a sequence past the last commit recorded is left to the log")
  func newerThanHead() {
    let tail = ChangeTail(capacity: 10)
    tail.record(Self.changes(1 ... 2), after: 0, through: 2, prunedThrough: 0)
    #expect(tail.changes(after: 3, matching: ChangeFilter(), limit: 10) == nil)
  }

  @Test("a commit too large to keep, or one that does not follow the last, starts afresh")
  func restarts() throws {
    let tail = ChangeTail(capacity: 3)
    tail.record(Self.changes(1 ... 2), after: 0, through: 2, prunedThrough: 0)
    tail.record(nil, after: 2, through: 10, prunedThrough: 0)
    #expect(tail.changes(after: 2, matching: ChangeFilter(), limit: 10) == nil)
    let atHead = try #require(tail.changes(after: 10, matching: ChangeFilter(), limit: 10))
    #expect(atHead.changes.isEmpty)
    #expect(atHead.through == 10)
    tail.record(Self.changes(12 ... 12), after: 11, through: 12, prunedThrough: 0)
    #expect(tail.changes(after: 10, matching: ChangeFilter(), limit: 10) == nil)
    let fresh = try #require(tail.changes(after: 11, matching: ChangeFilter(), limit: 10))
    #expect(fresh.changes.map(\.sequence) == [12])
  }

  @Test("it knows whether anyone asked for changes lately, answered or not")
  func asked() {
    let tail = ChangeTail(capacity: 10)
    #expect(!tail.wasAsked(within: .seconds(10)))
    #expect(tail.changes(after: 0, matching: ChangeFilter(), limit: 10) == nil)
    #expect(tail.wasAsked(within: .seconds(10)))
    tail.record(nil, after: 0, through: 5, prunedThrough: 0)
    #expect(tail.wasAsked(within: .seconds(10)))
  }

  @Test("capacity 0 keeps nothing")
  func disabled() {
    let tail = ChangeTail(capacity: 0)
    tail.record(Self.changes(1 ... 2), after: 0, through: 2, prunedThrough: 0)
    #expect(tail.changes(after: 0, matching: ChangeFilter(), limit: 10) == nil)
  }
}
