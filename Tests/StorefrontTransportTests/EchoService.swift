import GRPCCore
import NIOPosix
import Synchronization

/// Messages as their bytes.
struct RawBytes: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
    Bytes(message)
  }

  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
    serializedMessageBytes.withUnsafeBytes { Array($0) }
  }
}

/// What the echo service's handlers saw, for tests to wait on.
final class Probe: Sendable {
  private let events: AsyncStream<String>.Continuation
  let stream: AsyncStream<String>
  private let runs = Mutex(0)

  init() {
    (self.stream, self.events) = AsyncStream.makeStream()
  }

  func record(_ event: String) {
    self.events.yield(event)
  }

  func countRun() {
    self.runs.withLock { $0 += 1 }
  }

  var runCount: Int { self.runs.withLock { $0 } }

  /// The next event recorded.
  func next() async -> String? {
    var iterator = self.stream.makeAsyncIterator()
    return await iterator.next()
  }
}

/// A test service with one method of each kind, on raw bytes.
struct EchoService: RegistrableRPCService {
  static let service = ServiceDescriptor(fullyQualifiedService: "test.Echo")
  static let get = MethodDescriptor(service: service, method: "Get")
  static let expand = MethodDescriptor(service: service, method: "Expand")
  static let collect = MethodDescriptor(service: service, method: "Collect")
  static let chat = MethodDescriptor(service: service, method: "Chat")
  static let hang = MethodDescriptor(service: service, method: "Hang")

  let probe: Probe

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    let probe = self.probe
    // The request back; metadata says where it ran.
    router.registerHandler(forMethod: Self.get, deserializer: RawBytes(), serializer: RawBytes()) {
      request,
      context in
      probe.countRun()
      let message = try await ServerRequest(stream: request).message
      var metadata = Metadata()
      metadata.addString(context.remotePeer, forKey: "x-peer")
      let onLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
      metadata.addString(onLoop ? "true" : "false", forKey: "x-on-loop")
      return StreamingServerResponse(single: ServerResponse(message: message, metadata: metadata))
    }
    // The request's first two bytes: how many messages (x256 + ...), the third: their size/256.
    router.registerHandler(
      forMethod: Self.expand,
      deserializer: RawBytes(),
      serializer: RawBytes()
    ) { request, context in
      let message = try await ServerRequest(stream: request).message
      let count = Int(message[0]) << 8 | Int(message[1])
      let size = Int(message[2]) * 256
      return StreamingServerResponse { writer in
        for index in 0 ..< count {
          try await writer.write([UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size))
        }
        return [:]
      }
    }
    // How many bytes came, as text.
    router.registerHandler(
      forMethod: Self.collect,
      deserializer: RawBytes(),
      serializer: RawBytes()
    ) { request, context in
      var total = 0
      for try await message in request.messages {
        total += message.count
      }
      return StreamingServerResponse(single: ServerResponse(message: Array("\(total)".utf8)))
    }
    // Every message back as it comes.
    router.registerHandler(forMethod: Self.chat, deserializer: RawBytes(), serializer: RawBytes()) {
      request,
      context in
      StreamingServerResponse { writer in
        for try await message in request.messages {
          try await writer.write(message)
        }
        return [:]
      }
    }
    // Reads the request stream, then waits until the RPC is cancelled, and records whether
    // both the RPC's handle and its task were.
    router.registerHandler(forMethod: Self.hang, deserializer: RawBytes(), serializer: RawBytes()) {
      request,
      context in
      StreamingServerResponse { writer in
        probe.record("started")
        do {
          for try await _ in request.messages {}
        } catch {}
        // Ends when the RPC is cancelled, or at once (throwing) when the task is.
        try? await context.cancellation.cancelled
        let cancelled = context.cancellation.isCancelled && Task.isCancelled
        probe.record(cancelled ? "cancelled" : "not cancelled")
        return [:]
      }
    }
  }
}
