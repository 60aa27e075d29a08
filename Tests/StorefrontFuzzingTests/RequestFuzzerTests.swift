import Foundation
import GRPCCore
import StorefrontFuzzing
import Testing

@Suite("RequestFuzzer: every RPC with arbitrary request bytes")
struct RequestFuzzerTests {
  /// Inputs kept in the repository: the fuzzer's seeds, and every input it ever failed on.
  static let keptInputs: [URL] = {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    return ["Seeds", "Regressions"].flatMap { folder in
      let url = here.appendingPathComponent(folder, isDirectory: true)
      let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
      let inputs = names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }
      return inputs.sorted().map { url.appendingPathComponent($0) }
    }
  }()

  static func withFuzzer(
    transport: FuzzTransport = .inProcess,
    _ body: (RequestFuzzer) async throws -> Void
  ) async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("storefront-fuzz-test-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let fuzzer = try await RequestFuzzer(directory: directory, transport: transport)
    do {
      try await body(fuzzer)
    } catch {
      await fuzzer.stop()
      throw error
    }
    await fuzzer.stop()
  }

  /// An input for `method`: its index (with the high bit when the call sends no token), then
  /// each message with a two-byte length.
  static func input(
    _ method: MethodDescriptor,
    _ messages: [[UInt8]],
    anonymous: Bool = false
  ) -> [UInt8] {
    let index = RequestFuzzer.methods.firstIndex(of: method)!
    var input: [UInt8] = [UInt8(index) | (anonymous ? 0x80 : 0)]
    for message in messages {
      input.append(UInt8(message.count >> 8))
      input.append(UInt8(message.count & 0xFF))
      input.append(contentsOf: message)
    }
    return input
  }

  @Test(
    "every kept input (seeds and past failures) gets a clear answer, over every transport",
    arguments: FuzzTransport.allCases
  )
  func keptInputs(transport: FuzzTransport) async throws {
    #expect(Self.keptInputs.count >= RequestFuzzer.methods.count)
    try await Self.withFuzzer(transport: transport) { fuzzer in
      for url in Self.keptInputs {
        let outcome = await fuzzer.exercise(Array(try Data(contentsOf: url)))
        #expect(outcome.isClear, "\(url.lastPathComponent) answered \(outcome)")
      }
    }
  }

  @Test("bytes that are not protobuf answer INVALID_ARGUMENT on every RPC")
  func undecodable() async throws {
    try await Self.withFuzzer { fuzzer in
      for method in RequestFuzzer.methods {
        // Field 1 as a length-delimited value claiming more bytes than follow.
        let outcome = await fuzzer.exercise(Self.input(method, [[0x0A, 0x7F, 0x01]]))
        #expect(outcome == .status(.invalidArgument), "\(method)")
      }
    }
  }

  @Test("a well-formed request reaches the handler: an empty CreateProduct names its field")
  func wellFormed() async throws {
    try await Self.withFuzzer { fuzzer in
      let create = RequestFuzzer.methods[4]
      #expect(create.method == "CreateProduct")
      #expect(await fuzzer.exercise(Self.input(create, [[]])) == .status(.invalidArgument))
      // A listing of the one seeded product answers OK.
      let list = RequestFuzzer.methods[1]
      #expect(await fuzzer.exercise(Self.input(list, [[]])) == .ok)
    }
  }

  @Test("calls go through the access checks: without a token a write is UNAUTHENTICATED")
  func accessChecked() async throws {
    try await Self.withFuzzer { fuzzer in
      let create = RequestFuzzer.methods[4]
      let anonymous = Self.input(create, [[]], anonymous: true)
      #expect(await fuzzer.exercise(anonymous) == .status(.unauthenticated))
      let listUsers = try #require(RequestFuzzer.methods.first { $0.method == "ListUsers" })
      #expect(await fuzzer.exercise(Self.input(listUsers, [[]])) == .ok)
    }
  }

  @Test("the oracle: INTERNAL and UNKNOWN are not clear answers, others are")
  func oracle() {
    #expect(!RequestFuzzer.Outcome.status(.internalError).isClear)
    #expect(!RequestFuzzer.Outcome.status(.unknown).isClear)
    #expect(RequestFuzzer.Outcome.status(.notFound).isClear)
    #expect(RequestFuzzer.Outcome.ok.isClear)
  }
}
