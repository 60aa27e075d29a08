import Foundation
import StorefrontCore
import StorefrontTestKit
import Testing

@Suite("StagedImage and ImageBlobStore")
struct StagedImageTests {
  static let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
  static let abcdSHA256 = "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
  static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  /// Stages `text`, places it and returns its hash.
  static func store(_ text: String, in blobs: ImageBlobStore) async throws -> String {
    let staged = try blobs.stage(maxBytes: 1_024)
    try staged.append(text.utf8)
    let finished = try blobs.finish(staged)
    try await blobs.place([finished]) {}
    return finished.sha256
  }

  struct RecordFailed: Error {}

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
  func commitMovesFile() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let sha256 = try await Self.store("abc", in: blobs)
    #expect(sha256 == Self.abcSHA256)
    let url = blobs.url(forSHA256: sha256)
    #expect(url.path.hasSuffix("/blobs/ba/" + Self.abcSHA256))
    #expect(FileManager.default.contents(atPath: url.path) == Data("abc".utf8))
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("committing identical content twice keeps one file and no staged copy")
  func commitTwice() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let first = try await Self.store("abc", in: blobs)
    let second = try await Self.store("abc", in: blobs)
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
  func removeLeftoversKeepsReferenced() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let kept = try await Self.store("abc", in: blobs)
    let dropped = try await Self.store("def", in: blobs)
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

  @Test("removeUnreferenced deletes the files of the hashes it is given, ignoring unknown ones")
  func removeUnreferencedDeletes() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let first = try await Self.store("abc", in: blobs)
    let second = try await Self.store("def", in: blobs)
    try await blobs.removeUnreferenced { [first, Self.emptySHA256] }
    #expect(!Self.fileExists(blobs.url(forSHA256: first)))
    #expect(Self.fileExists(blobs.url(forSHA256: second)))
  }

  @Test("removeUnreferenced deletes nothing when the records could not be deleted")
  func removeUnreferencedFailing() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let sha256 = try await Self.store("abc", in: blobs)
    await #expect(throws: RecordFailed.self) {
      try await blobs.removeUnreferenced { throw RecordFailed() }
    }
    #expect(Self.fileExists(blobs.url(forSHA256: sha256)))
  }

  @Test("when recording fails, place removes the blobs it placed and keeps those already there")
  func placeUndoesOnFailure() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let existing = try await Self.store("abc", in: blobs)
    // The staged images own their files until they are placed: keep them alive.
    let staged = try ["abc", "new"].map { text in
      let image = try blobs.stage(maxBytes: 1_024)
      try image.append(text.utf8)
      return image
    }
    defer { staged.forEach { $0.discard() } }
    let uploads = try staged.map { try blobs.finish($0) }
    let placing = uploads
    await #expect(throws: RecordFailed.self) {
      try await blobs.place(placing) { throw RecordFailed() }
    }
    #expect(Self.fileExists(blobs.url(forSHA256: existing)))
    #expect(!Self.fileExists(blobs.url(forSHA256: uploads[1].sha256)))
    #expect(blobs.stagedFiles().isEmpty)
  }

  @Test("place runs to its end when the task that asked for it is cancelled")
  func placeSurvivesCancellation() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let blobs = try ImageBlobStore(root: directory.url)
    let staged = try blobs.stage(maxBytes: 1_024)
    try staged.append("abc".utf8)
    let upload = try blobs.finish(staged)
    let log = SharedLog()
    let task = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      try await blobs.place([upload]) {
        // A cancelled recording step would throw here.
        try await Task.sleep(for: .milliseconds(10))
        log.append("recorded")
      }
    }
    try await task.value
    #expect(log.entries == ["recorded"])
    #expect(Self.fileExists(blobs.url(forSHA256: upload.sha256)))
  }

  @Test("opening a store creates its directories, and reopening keeps the blobs")
  func reopenKeepsBlobs() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let root = directory.url.appendingPathComponent("nested/images", isDirectory: true)
    let sha256 = try await Self.store("abc", in: ImageBlobStore(root: root))
    let reopened = try ImageBlobStore(root: root)
    #expect(reopened.root == root)
    #expect(Self.fileExists(reopened.url(forSHA256: sha256)))
    #expect(reopened.stagedFiles().isEmpty)
  }
}
