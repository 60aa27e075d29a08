import Foundation
import StorefrontCore
import Testing

@Suite("StagedImage and ImageBlobStore")
struct StagedImageTests {
  static let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
  static let abcdSHA256 = "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
  static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  /// Stages `text`, commits it and returns its hash.
  static func store(_ text: String, in blobs: ImageBlobStore) throws -> String {
    let staged = try blobs.stage(maxBytes: 1_024)
    try staged.append(text.utf8)
    let sha256 = try staged.digest().sha256
    try blobs.commit(staged)
    return sha256
  }

  static func fileExists(_ url: URL) -> Bool {
    FileManager.default.fileExists(atPath: url.path)
  }

  @Test("the digest is the SHA-256 and size of the bytes, however they were split")
  func digestOfSplitBytes() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 1_024)
    defer { staged.discard() }
    try staged.append("a".utf8)
    try staged.append([UInt8]())
    try staged.append("bc".utf8)
    #expect(staged.sizeBytes == 3)
    let digest = try staged.digest()
    #expect(digest.sha256 == Self.abcSHA256)
    #expect(digest.sizeBytes == 3)
    #expect(digest.format == nil)
    #expect(try staged.digest() == digest)
  }

  @Test("an empty upload has the SHA-256 of no bytes")
  func emptyDigest() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 1_024)
    defer { staged.discard() }
    let digest = try staged.digest()
    #expect(digest.sha256 == Self.emptySHA256)
    #expect(digest.sizeBytes == 0)
  }

  @Test("the format is sniffed once enough leading bytes have arrived")
  func sniffsFormat() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 1_024)
    defer { staged.discard() }
    let head: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
    let rest: [UInt8] = [0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D] + Array("IHDR".utf8)
    try staged.append(head)
    #expect(staged.sniffedFormat == nil)
    try staged.append(rest)
    #expect(staged.sniffedFormat == .png)
    #expect(try staged.digest().format == .png)
  }

  @Test("appending past the size limit fails with resourceExhausted and keeps what was written")
  func sizeLimit() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 4)
    defer { staged.discard() }
    try staged.append("abcd".utf8)
    let error = #expect(throws: StorefrontError.self) { try staged.append("e".utf8) }
    #expect(error?.code == .resourceExhausted)
    #expect(staged.sizeBytes == 4)
    #expect(try staged.digest().sha256 == Self.abcdSHA256)
  }

  @Test("one append larger than the limit fails with resourceExhausted and writes nothing")
  func oversizedAppend() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 2)
    defer { staged.discard() }
    let error = #expect(throws: StorefrontError.self) { try staged.append("abc".utf8) }
    #expect(error?.code == .resourceExhausted)
    #expect(staged.sizeBytes == 0)
  }

  @Test("discard removes the temporary file, and may be called again")
  func discardRemovesFile() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 1_024)
    try staged.append("abc".utf8)
    #expect(blobs.stagedFiles().count == 1)
    staged.discard()
    #expect(blobs.stagedFiles().isEmpty)
    staged.discard()
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("an upload that is dropped without commit or discard leaves no file")
  func releasedUploadIsRemoved() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    do {
      let staged = try blobs.stage(maxBytes: 1_024)
      try staged.append("abc".utf8)
      withExtendedLifetime(staged) {
        #expect(blobs.stagedFiles().count == 1)
      }
    }
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("commit moves the file under its hash and leaves the staging area empty")
  func commitMovesFile() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let sha256 = try Self.store("abc", in: blobs)
    #expect(sha256 == Self.abcSHA256)
    let url = blobs.url(forSHA256: sha256)
    #expect(url.path.hasSuffix("/blobs/ba/" + Self.abcSHA256))
    #expect(FileManager.default.contents(atPath: url.path) == Data("abc".utf8))
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("committing identical content twice keeps one file and no staged copy")
  func commitTwice() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let first = try Self.store("abc", in: blobs)
    let second = try Self.store("abc", in: blobs)
    #expect(first == second)
    let url = blobs.url(forSHA256: first)
    #expect(FileManager.default.contents(atPath: url.path) == Data("abc".utf8))
    let shard = try FileManager.default.contentsOfDirectory(
      atPath: url.deletingLastPathComponent().path
    )
    #expect(shard == [Self.abcSHA256])
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("removeLeftovers deletes staged files and unreferenced blobs, keeping referenced ones")
  func removeLeftoversKeepsReferenced() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let kept = try Self.store("abc", in: blobs)
    let dropped = try Self.store("def", in: blobs)
    let unfinished = try blobs.stage(maxBytes: 1_024)
    defer { unfinished.discard() }
    try unfinished.append("ghi".utf8)
    #expect(blobs.stagedFiles().count == 1)

    let removed = blobs.removeLeftovers(keeping: [kept])

    #expect(removed == 2)
    #expect(Self.fileExists(blobs.url(forSHA256: kept)))
    #expect(!Self.fileExists(blobs.url(forSHA256: dropped)))
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("remove deletes the files of the given hashes and ignores unknown ones")
  func removeByHash() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let first = try Self.store("abc", in: blobs)
    let second = try Self.store("def", in: blobs)
    blobs.remove(sha256: [first, Self.emptySHA256])
    #expect(!Self.fileExists(blobs.url(forSHA256: first)))
    #expect(Self.fileExists(blobs.url(forSHA256: second)))
  }

  @Test("opening a store creates its directories, and reopening keeps the blobs")
  func reopenKeepsBlobs() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let root = directory.url.appendingPathComponent("nested/images", isDirectory: true)
    let sha256 = try Self.store("abc", in: try ImageBlobStore(root: root))
    let reopened = try ImageBlobStore(root: root)
    #expect(reopened.root == root)
    #expect(Self.fileExists(reopened.url(forSHA256: sha256)))
    #expect(reopened.stagedFiles().isEmpty)
  }
}
