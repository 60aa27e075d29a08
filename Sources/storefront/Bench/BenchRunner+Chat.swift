import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

extension BenchRunner {
  /// Chat: `plan.concurrency` members join the rooms of the catalogue's first `rooms`
  /// products (member i the room i modulo `rooms`), and `senders` of them send `rate` messages
  /// a second each (paced, not closed loop), until the window ends. Every member times every
  /// message from its send to its delivery: deliveries/s and delivery latency. Each member's
  /// stream that ends well counts as one operation. With `senderClients` (another replica's),
  /// the senders chat there and the other members here: most deliveries cross replicas.
  func chat(
    senders: Int,
    rate: Double,
    rooms: Int,
    senderClients: [BenchClient]? = nil
  ) async throws -> BenchResult {
    let roomIDs = try await self.catalogueIDs(limit: rooms)
    let recorder = BenchRecorder(
      window: BenchWindow(warmup: self.plan.warmup, duration: self.plan.duration)
    )
    let stamp = BenchStamp(origin: recorder.window.start)
    let metadata = self.plan.metadata
    let options = self.callOptions
    await withDiscardingTaskGroup { group in
      for member in 0 ..< self.plan.concurrency {
        let sends = member < senders
        let clients = sends ? senderClients ?? self.clients : self.clients
        let client = clients[member % clients.count]
        let room = roomIDs[member % roomIDs.count]
        group.addTask {
          do {
            try await client.chat(metadata: metadata, options: options) { writer in
              try await writer.write(
                .with {
                  $0.kind = .join
                  $0.room = room
                  $0.sender = "bench-\(member)"
                }
              )
              guard sends else { return try await Task.sleep(until: recorder.window.end) }
              try await BenchStamp.paced(rate: rate, until: recorder.window.end) {
                try await writer.write(
                  .with {
                    $0.kind = .message
                    $0.room = room
                    $0.text = stamp.now()
                  }
                )
              }
            } onResponse: { response in
              for try await message in response.messages where message.kind == .message {
                if let latency = stamp.age(of: message.text) { recorder.recordLatency(latency) }
              }
            }
            recorder.recordUntimedOperation()
          } catch {
            recorder.recordError(error, inWarmup: true)
          }
        }
      }
    }
    return recorder.result(scenario: "chat", label: self.label, unit: "deliveries")
  }
}
