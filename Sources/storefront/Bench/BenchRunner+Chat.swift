import Foundation
import GRPCCore
import StorefrontAPI
import SwiftProtobuf

extension BenchRunner {
  /// Chat: `plan.concurrency` members join the rooms of the catalogue's first `rooms`
  /// products (member i the room i modulo `rooms`), and `senders` of them send `rate` messages a second each (paced, not closed loop), until the
  /// window ends. Every member times every message from its send to its delivery:
  /// deliveries/s and delivery latency. Each member's stream that ends well counts as one operation.
  func chat(senders: Int, rate: Double, rooms: Int) async throws -> BenchResult {
    let roomIDs = try await self.catalogueIDs(limit: rooms)
    guard !roomIDs.isEmpty else { throw CommandFailure("the catalogue is empty") }
    let recorder = BenchRecorder(
      window: BenchWindow(warmup: self.plan.warmup, duration: self.plan.duration)
    )
    let origin = recorder.window.start
    // Marks this run's messages, so that replayed history from earlier runs is not timed.
    let run = "bench-\(UInt32.random(in: 0 ... UInt32.max))"
    let metadata = self.plan.metadata
    let options = self.callOptions
    let interval = Duration.seconds(1 / rate)
    await withDiscardingTaskGroup { group in
      for member in 0 ..< self.plan.concurrency {
        let client = self.clients[member % self.clients.count]
        let sends = member < senders
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
              var next = ContinuousClock.now
              while !recorder.window.isOver {
                guard sends else {
                  try await Task.sleep(until: recorder.window.end)
                  break
                }
                let sent = ContinuousClock.now - origin
                try await writer.write(
                  .with {
                    $0.kind = .message
                    $0.room = room
                    $0.text = "\(run) \(sent / .nanoseconds(1))"
                  }
                )
                next += interval
                try await Task.sleep(until: max(next, .now))
              }
            } onResponse: { response in
              for try await message in response.messages {
                guard message.kind == .message else { continue }
                let words = message.text.split(separator: " ")
                guard words.count == 2, words[0] == run, let nanos = Double(words[1]) else {
                  continue
                }
                recorder.recordLatency(ContinuousClock.now - origin - .nanoseconds(Int64(nanos)))
              }
            }
            recorder.recordUntimedOperation()
          } catch {
            recorder.recordError(error)
          }
        }
      }
    }
    return recorder.result(scenario: "chat", label: self.label, unit: "deliveries")
  }
}
