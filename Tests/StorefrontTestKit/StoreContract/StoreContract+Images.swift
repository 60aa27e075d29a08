import Foundation
import StorefrontCore
import Testing

extension StoreContract {
  static let attachAppends = Case(
    "attach appends image ids in order and gives the product a new etag"
  ) { factory in
    try await factory.withStore { store in
      let product = try await store.insert(.sample())
      let first = ImageRecord.sample(id: "img_01", productID: product.id, sha256: fakeSHA256("a"))
      let second = ImageRecord.sample(id: "img_02", productID: product.id, sha256: fakeSHA256("b"))
      let third = ImageRecord.sample(id: "img_03", productID: product.id, sha256: fakeSHA256("c"))

      try await store.attach([first, second])
      let once = try await store.product(id: product.id)
      #expect(once.imageIDs == ["img_01", "img_02"])
      #expect(once.etag != product.etag)
      #expect(once.updateTime >= product.updateTime)
      #expect(once.draft == product.draft)

      try await store.attach([third])
      let twice = try await store.product(id: product.id)
      #expect(twice.imageIDs == ["img_01", "img_02", "img_03"])
      #expect(twice.etag != once.etag)

      #expect(try await store.image(id: "img_02") == second)
      let hashes = try await store.referencedImageHashes()
      #expect(hashes == Set([fakeSHA256("a"), fakeSHA256("b"), fakeSHA256("c")]))
    }
  }

  static let attachKeepsBatchOrder = Case(
    "attach keeps a batch's order even when its ids do not sort that way"
  ) { factory in
    try await factory.withStore { store in
      let product = try await store.insert(.sample())
      try await store.attach([
        .sample(id: "img_b", productID: product.id, sha256: fakeSHA256("b")),
        .sample(id: "img_a", productID: product.id, sha256: fakeSHA256("a")),
      ])
      let imageIDs = try await store.product(id: product.id).imageIDs
      // Image ids made in the same millisecond do not sort by creation: the store must keep
      // the order of attachment, not sort by id.
      #expect(imageIDs == ["img_b", "img_a"])
    }
  }

  static let attachToMissingProduct = Case(
    "attach to a missing product answers notFound and records nothing"
  ) { factory in
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.attach([
          .sample(id: "img_01", productID: "p_missing", sha256: fakeSHA256("a"))
        ])
      }
      #expect(error?.code == .notFound)
      let lookup = await #expect(throws: StorefrontError.self) {
        try await store.image(id: "img_01")
      }
      #expect(lookup?.code == .notFound)
      let referenced = try await store.referencedImageHashes()
      #expect(referenced.isEmpty)
    }
  }

  static let attachAllOrNothing = Case(
    "attach is all or nothing: one missing product in a batch records none of it"
  ) { factory in
    try await factory.withStore { store in
      let product = try await store.insert(.sample())
      let error = await #expect(throws: StorefrontError.self) {
        try await store.attach([
          .sample(id: "img_01", productID: product.id, sha256: fakeSHA256("a")),
          .sample(id: "img_02", productID: "p_missing", sha256: fakeSHA256("b")),
        ])
      }
      #expect(error?.code == .notFound)
      #expect(try await store.product(id: product.id) == product)
      let lookup = await #expect(throws: StorefrontError.self) {
        try await store.image(id: "img_01")
      }
      #expect(lookup?.code == .notFound)
      let referenced = try await store.referencedImageHashes()
      #expect(referenced.isEmpty)
    }
  }

  static let imageUnknown = Case("image answers notFound for an unknown id") { factory in
    try await factory.withStore { store in
      let error = await #expect(throws: StorefrontError.self) {
        try await store.image(id: "img_unknown")
      }
      #expect(error?.code == .notFound)
    }
  }

  static let deleteReturnsOrphanedHashes = Case(
    "delete returns the hashes of its images that no other product references"
  ) { factory in
    try await factory.withStore { store in
      let shared = fakeSHA256("a")
      let own = fakeSHA256("b")
      let first = try await store.insert(.sample())
      let second = try await store.insert(.sample())
      try await store.attach([
        .sample(id: "img_01", productID: first.id, sha256: shared),
        .sample(id: "img_02", productID: first.id, sha256: own),
        .sample(id: "img_03", productID: first.id, sha256: own),
        .sample(id: "img_04", productID: second.id, sha256: shared),
      ])

      let orphanedByFirst = try await store.delete(id: first.id, expectedETag: nil)
      #expect(orphanedByFirst == [own])
      #expect(try await store.referencedImageHashes() == Set([shared]))
      for id in ["img_01", "img_02", "img_03"] {
        let error = await #expect(throws: StorefrontError.self) {
          try await store.image(id: id)
        }
        #expect(error?.code == .notFound)
      }
      #expect(try await store.image(id: "img_04").productID == second.id)

      let orphanedBySecond = try await store.delete(id: second.id, expectedETag: nil)
      #expect(orphanedBySecond == [shared])
      #expect(try await store.referencedImageHashes().isEmpty)
    }
  }

  static let deleteWithoutImages = Case("delete of a product without images returns no hashes") {
    factory in
    try await factory.withStore { store in
      let product = try await store.insert(.sample())
      #expect(try await store.delete(id: product.id, expectedETag: product.etag).isEmpty)
    }
  }
}
