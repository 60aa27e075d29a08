import Foundation
import GRPCCore
import NIOCore
import NIOHPACK
import Testing

@testable import StorefrontTransport

@Suite("Transport parts")
struct TransportPartsTests {
  @Test(
    "grpc-timeout follows gRPC's grammar",
    arguments: [
      ("1S", Duration.seconds(1)), ("99999999H", .seconds(99_999_999 * 3600)),
      ("250m", .milliseconds(250)),
      ("0n", .zero), ("5u", .microseconds(5)), ("2M", .seconds(120)),
    ]
  )
  func validTimeouts(value: String, expected: Duration) {
    #expect(GRPCTimeout.duration(of: Substring(value)) == expected)
  }

  @Test(
    "a malformed grpc-timeout is refused",
    arguments: ["-1S", "abc", "1.5S", "123456789S", "5s", "", "S", " 1S", "1", "+1S"]
  )
  func malformedTimeouts(value: String) {
    #expect(GRPCTimeout.duration(of: Substring(value)) == nil)
  }

  @Test("base64 round-trips, padded or not")
  func base64() {
    for length in 0 ..< 10 {
      let bytes = (0 ..< length).map { UInt8($0 * 37 & 0xFF) }
      let encoded = Base64.encode(bytes)
      #expect(Base64.decode(encoded) == bytes)
      let unpadded = encoded.replacingOccurrences(of: "=", with: "")
      #expect(Base64.decode(unpadded) == bytes)
    }
    #expect(Base64.decode("a") == nil)
    #expect(Base64.decode("ab$d") == nil)
  }

  @Test("grpc-message is percent-encoded outside printable ASCII")
  func percentEncoding() {
    #expect(StatusMessage.percentEncoded("plain text") == "plain text")
    #expect(StatusMessage.percentEncoded("100% ok") == "100%25 ok")
    #expect(StatusMessage.percentEncoded("café\n") == "caf%C3%A9%0A")
  }

  @Test("the deframer lets go of returned messages when no DATA ends on a message's boundary")
  func deframerHoldsOnlyTheNextMessage() throws {
    var deframer = MessageDeframer(maxMessageBytes: 2_000)
    var data = ByteBuffer()
    for _ in 0 ..< 1_000 {
      data.writeInteger(UInt8(0))
      data.writeInteger(UInt32(1_000))
      data.writeRepeatingByte(7, count: 1_000)
    }
    // 1,003-byte DATA frames: every one ends inside a message, so the buffer never empties.
    var returned = 0
    var mostHeld = 0
    while data.readableBytes > 0 {
      deframer.append(data.readSlice(length: min(1_003, data.readableBytes))!)
      while let next = try deframer.next(decompressor: nil) {
        #expect(next.message.readableBytes == 1_000)
        returned += 1
      }
      mostHeld = max(mostHeld, deframer.heldBytes)
    }
    #expect(returned == 1_000)
    #expect(mostHeld < 4_096, "the deframer held \(mostHeld) bytes of a 1,005,000-byte stream")
  }

  @Test("the deframer copies a message that spans DATA frames once, into storage its size")
  func deframerAssemblesIntoExactStorage() throws {
    var deframer = MessageDeframer(maxMessageBytes: 1 << 20)
    var data = ByteBuffer()
    data.writeInteger(UInt8(0))
    data.writeInteger(UInt32(100_000))
    data.writeBytes((0 ..< 100_000).map { UInt8(truncatingIfNeeded: $0) })
    // A second message starts in the last frame.
    data.writeInteger(UInt8(0))
    data.writeInteger(UInt32(3))
    data.writeBytes([7, 8, 9])
    var messages: [ByteBuffer] = []
    while data.readableBytes > 0 {
      deframer.append(data.readSlice(length: min(16_384, data.readableBytes))!)
      while let next = try deframer.next(decompressor: nil) { messages.append(next.message) }
      // Never more than the first message's bytes, and the frame the rest arrived in.
      #expect(deframer.heldBytes <= 100_005 + 16_384)
    }
    try #require(messages.count == 2)
    #expect(
      Array(messages[0].readableBytesView) == (0 ..< 100_000).map { UInt8(truncatingIfNeeded: $0) }
    )
    #expect(Array(messages[1].readableBytesView) == [7, 8, 9])
    #expect(!deframer.hasPartialMessage)
  }

  @Test("response DATA: small messages share a buffer, a large one is queued without a copy")
  func outboundData() {
    var outbound = OutboundData()
    #expect(outbound.isEmpty)
    outbound.appendMessage(ByteBuffer(bytes: [1, 2, 3]))
    outbound.appendMessage(ByteBuffer(bytes: []))
    let large = ByteBuffer(repeating: 9, count: 100_000)
    outbound.appendMessage(large)
    outbound.append(ByteBuffer(bytes: [0x80, 0, 0, 0, 0]))
    #expect(outbound.byteCount == 8 + 5 + 100_005 + 5)

    var drained: [(bytes: [UInt8], isLast: Bool, sharesLarge: Bool)] = []
    outbound.forEach { buffer, isLast in
      let sharesLarge = buffer.withUnsafeReadableBytes { mine in
        large.withUnsafeReadableBytes { $0.baseAddress == mine.baseAddress }
      }
      drained.append((Array(buffer.readableBytesView), isLast, sharesLarge))
    }
    // Two small messages and the large one's prefix in one buffer; the large message as it
    // was made; what follows in a buffer of its own (the large one is never written to).
    #expect(drained.count == 3)
    #expect(drained.map(\.isLast) == [false, false, true])
    #expect(drained[0].bytes == [0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0x86, 0xA0])
    #expect(drained[1].sharesLarge)
    #expect(drained[1].bytes.count == 100_000)
    #expect(drained[2].bytes == [0x80, 0, 0, 0, 0])
  }

  @Test("the deframer splits messages across and within DATA, and refuses an over-size one early")
  func deframer() throws {
    var deframer = MessageDeframer(maxMessageBytes: 10)
    var data = ByteBuffer()
    for message in [[1, 2, 3], [], [4]] as [[UInt8]] {
      data.writeInteger(UInt8(0))
      data.writeInteger(UInt32(message.count))
      data.writeBytes(message)
    }
    // Byte by byte: nothing comes out before a message is whole.
    var out: [[UInt8]] = []
    while let byte = data.readSlice(length: 1) {
      deframer.append(byte)
      while let next = try deframer.next(decompressor: nil) {
        out.append(Array(next.message.readableBytesView))
      }
    }
    #expect(out == [[1, 2, 3], [], [4]])
    #expect(!deframer.hasPartialMessage)

    var big = ByteBuffer()
    big.writeInteger(UInt8(0))
    big.writeInteger(UInt32(11))
    deframer.append(big)
    #expect(throws: MessageDeframer.Failure.tooLarge(11)) { try deframer.next(decompressor: nil) }

    var compressed = MessageDeframer(maxMessageBytes: 10)
    var flagged = ByteBuffer(bytes: [1, 0, 0, 0, 1, 9])
    compressed.append(flagged)
    #expect(throws: MessageDeframer.Failure.compressedWithoutEncoding) {
      try compressed.next(decompressor: nil)
    }
    flagged = ByteBuffer(bytes: [2, 0, 0, 0, 0])
    var badFlag = MessageDeframer(maxMessageBytes: 10)
    badFlag.append(flagged)
    #expect(throws: MessageDeframer.Failure.badFlag(2)) { try badFlag.next(decompressor: nil) }
  }

  @Test(
    "gzip and deflate round-trip, and a decompression bomb stops at the limit",
    arguments: CompressionMethod.allCases
  )
  func zlib(method: CompressionMethod) throws {
    let compressor = try #require(Zlib.compressor(method))
    let decompressor = try #require(Zlib.decompressor(method))
    let plain = ByteBuffer(repeating: 0x61, count: 1 << 20)
    let packed = compressor.compress(plain, headroom: 5)
    #expect(packed.readerIndex == 5)
    #expect(try decompressor.decompress(packed, limit: 1 << 20) == plain)
    #expect(throws: DecompressionError.tooLarge) {
      try decompressor.decompress(packed, limit: 1000)
    }
    #expect(throws: DecompressionError.corrupt) {
      try decompressor.decompress(ByteBuffer(string: "not compressed"), limit: 1000)
    }
  }

  @Test("the request check answers 415, UNIMPLEMENTED and INVALID_ARGUMENT as gRPC asks")
  func requestHead() {
    func headers(
      _ extra: [(String, String)] = [],
      path: String = "/a.B/C",
      method: String = "POST"
    )
      -> HPACKHeaders
    {
      HPACKHeaders(
        [
          (":method", method), (":scheme", "http"), (":path", path),
          ("content-type", "application/grpc"),
        ]
          + extra
      )
    }
    func status(_ check: RequestHead.Check) -> String? {
      guard case .reject(let response) = check else { return nil }
      return response.first(name: "grpc-status") ?? response.first(name: ":status")
    }
    let none: [CompressionMethod] = []
    #expect(status(RequestHead.check(headers(), knownMethods: [:], compression: none)) == nil)
    var json = headers()
    json.replaceOrAdd(name: "content-type", value: "application/grpc+json")
    #expect(status(RequestHead.check(json, knownMethods: [:], compression: none)) == "415")
    #expect(
      status(RequestHead.check(headers(path: "/"), knownMethods: [:], compression: none)) == "12"
    )
    #expect(
      status(RequestHead.check(headers(method: "GET"), knownMethods: [:], compression: none)) == "3"
    )
    #expect(
      status(
        RequestHead.check(
          headers([("grpc-encoding", "gzip")]),
          knownMethods: [:],
          compression: none
        )
      )
        == "12"
    )
    guard
      case .accept(let head) = RequestHead.check(
        headers([("grpc-timeout", "-1S"), ("x-bin", "AAE")]),
        knownMethods: [:],
        compression: none
      )
    else {
      Issue.record("a request with a malformed timeout is refused")
      return
    }
    // The malformed timeout never reaches grpc-swift; binary metadata is decoded.
    #expect(head.timeout == nil)
    #expect(Array(head.metadata[stringValues: "grpc-timeout"]).isEmpty)
    #expect(Array(head.metadata[binaryValues: "x-bin"]) == [[0, 1]])
  }

  @Test("the client-ping policy: BDP pings during transfers pass, a bare ping flood strikes out")
  func pingPolicy() {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var policy = ClientPingPolicy(minInterval: .seconds(1), allowWithoutCalls: false)
    // Pings every millisecond with data in between (a BDP probe per burst): never a strike.
    for index in 0 ..< 100 {
      policy.transferred()
      let tooMany = policy.receivedPing(at: start + .milliseconds(Int64(index)), hasOpenCalls: true)
      #expect(!tooMany)
    }
    // The same rate with nothing in between: the third strike is one too many.
    var flood = ClientPingPolicy(minInterval: .seconds(1), allowWithoutCalls: false)
    let outcomes = (0 ..< 4).map {
      flood.receivedPing(at: start + .milliseconds(Int64($0)), hasOpenCalls: true)
    }
    #expect(outcomes == [false, false, false, true])
    // Slower than the interval: fine, with or without calls as allowed.
    var slow = ClientPingPolicy(minInterval: .seconds(1), allowWithoutCalls: true)
    for index in 0 ..< 10 {
      let tooMany = slow.receivedPing(at: start + .seconds(Int64(index * 2)), hasOpenCalls: false)
      #expect(!tooMany)
    }
  }
}
