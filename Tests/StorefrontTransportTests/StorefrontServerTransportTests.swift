import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

@testable import StorefrontTransport

@Suite("StorefrontServerTransport end to end")
struct StorefrontServerTransportTests {
  @Test("a unary call round-trips, runs on the connection's event loop and knows its peer")
  func unary() async throws {
    try await TransportHarness.with { client, _, _ in
      let response = try await client.echo(Array("hello".utf8))
      let message = try response.message
      #expect(message == Array("hello".utf8))
      #expect(response.metadata[stringValues: "x-on-loop"].first { _ in true } == "true")
      let peer = response.metadata[stringValues: "x-peer"].first { _ in true } ?? ""
      #expect(peer.hasPrefix("ipv4:127.0.0.1:"))
    }
  }

  @Test("server streaming delivers every message in order, past the flow-control window")
  func serverStreaming() async throws {
    try await TransportHarness.with { client, _, _ in
      // 1,000 messages of 1 KiB: 1 MiB, more than the client's window, so backpressure works.
      let received = try await client.serverStreaming(
        request: ClientRequest(message: [0x03, 0xE8, 4]),
        descriptor: EchoService.expand,
        serializer: RawBytes(),
        deserializer: RawBytes(),
        options: .defaults
      ) { response in
        var indices: [UInt8] = []
        for try await message in response.messages {
          #expect(message.count == 1024)
          indices.append(message[0])
        }
        return indices
      }
      #expect(received == (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0) })
    }
  }

  @Test("client streaming takes 8 MiB in 64 KiB messages")
  func clientStreaming() async throws {
    try await TransportHarness.with { client, _, _ in
      let total = try await client.clientStreaming(
        request: StreamingClientRequest(of: [UInt8].self) { writer in
          for _ in 0 ..< 128 {
            try await writer.write([UInt8](repeating: 7, count: 64 * 1024))
          }
        },
        descriptor: EchoService.collect,
        serializer: RawBytes(),
        deserializer: RawBytes(),
        options: .defaults
      ) { try String(decoding: $0.message, as: UTF8.self) }
      #expect(total == "\(128 * 64 * 1024)")
    }
  }

  @Test("1,000 concurrent bidirectional streams on one connection each get their own messages")
  func interleavedStreams() async throws {
    try await TransportHarness.with { client, _, _ in
      try await withThrowingTaskGroup(of: Bool.self) { group in
        for index in 0 ..< 1_000 {
          group.addTask {
            let mine = (0 ..< 3).map { [UInt8(index & 0xFF), UInt8(index >> 8), UInt8($0)] }
            return try await client.bidirectionalStreaming(
              request: StreamingClientRequest(of: [UInt8].self) { writer in
                for message in mine {
                  try await writer.write(message)
                  await Task.yield()
                }
              },
              descriptor: EchoService.chat,
              serializer: RawBytes(),
              deserializer: RawBytes(),
              options: .defaults
            ) { response in
              var got: [[UInt8]] = []
              for try await message in response.messages { got.append(message) }
              return got == mine
            }
          }
        }
        var matched = 0
        for try await ok in group where ok { matched += 1 }
        #expect(matched == 1_000)
      }
    }
  }

  @Test("a client's cancel reaches the handler at once: its RPC and its task are cancelled")
  func clientCancel() async throws {
    try await TransportHarness.with { client, probe, _ in
      let call = Task {
        try await client.bidirectionalStreaming(
          request: StreamingClientRequest(of: [UInt8].self) { writer in
            try await writer.write([1])
            try await Task.sleep(for: .seconds(3600))
          },
          descriptor: EchoService.hang,
          serializer: RawBytes(),
          deserializer: RawBytes(),
          options: .defaults
        ) { response in
          for try await _ in response.messages {}
        }
      }
      #expect(await probe.next() == "started")
      call.cancel()
      let outcome = await probe.next()
      #expect(outcome == "cancelled")
      _ = await call.result
    }
  }

  @Test("a message over the limit answers RESOURCE_EXHAUSTED, and the connection goes on")
  func oversizeMessage() async throws {
    try await TransportHarness.with(maxRequestMessageBytes: 1024) { client, _, _ in
      let error = await #expect(throws: RPCError.self) {
        _ = try await client.echo([UInt8](repeating: 1, count: 1025)).message
      }
      #expect(error?.code == .resourceExhausted)
      let after = try await client.echo([1, 2, 3]).message
      #expect(after == [1, 2, 3])
    }
  }

  @Test("a deadline already passed answers DEADLINE_EXCEEDED and runs nothing")
  func passedDeadline() async throws {
    try await TransportHarness.with { client, probe, _ in
      var options = CallOptions.defaults
      options.timeout = .nanoseconds(1)
      let error = await #expect(throws: RPCError.self) {
        _ = try await client.echo([1], options: options).message
      }
      #expect(error?.code == .deadlineExceeded)
      #expect(probe.runCount == 0)
    }
  }

  @Test("an unknown method answers UNIMPLEMENTED")
  func unknownMethod() async throws {
    try await TransportHarness.with { client, _, _ in
      let error = await #expect(throws: RPCError.self) {
        _ = try await client.echo(
          [1],
          method: MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Nope")
        ).message
      }
      #expect(error?.code == .unimplemented)
    }
  }

  @Test("gzip requests and responses round-trip, call after call")
  func compression() async throws {
    try await TransportHarness.with(
      compression: [.gzip, .deflate],
      clientCompression: [.gzip]
    ) { client, _, _ in
      var options = CallOptions.defaults
      options.compression = .gzip
      let message = [UInt8](repeating: 42, count: 100_000)
      for _ in 0 ..< 20 {
        let echoed = try await client.echo(message, options: options).message
        #expect(echoed == message)
      }
    }
  }
}
