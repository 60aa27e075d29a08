import Foundation
import Logging
import ServiceLifecycle
import StorefrontCore
import StorefrontService
import UnixSignals

/// Runs a server until SIGTERM or SIGINT, then drains it: logs what is in flight when the
/// drain begins and how long it took when the server has stopped, and ends the process if
/// the server has not stopped a little after the grace period.
struct ServerLifecycle: Sendable {
  /// What the server is doing when the drain begins, for the log.
  struct Activity {
    /// Calls in flight by method name (`ListProducts`), health checks included.
    var calls: [String: Int]
    /// Members in chat rooms.
    var chatMembers: Int

    /// `3 (2 ListProducts, 1 Chat)`, the busiest method first.
    var callsDescription: String {
      let total = self.calls.values.reduce(0, +)
      guard total > 0 else { return "0" }
      let byMethod = self.calls.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        .map { "\($0.value) \($0.key)" }
      return "\(total) (\(byMethod.joined(separator: ", ")))"
    }
  }

  let server: StorefrontServer
  /// How long calls in flight get after SIGTERM (`--shutdown-grace`).
  let grace: Duration
  let logger: Logger

  /// How long after the grace period the process ends anyway.
  static let watchdogDelay = Duration.seconds(3)

  private enum Event {
    case stopped
    case drainBegan
  }

  /// Serves until the server stops.
  /// - Parameter onListening: called with the port once the server listens.
  func run(onListening: (Int) -> Void) async throws {
    var configuration = ServiceGroupConfiguration(
      services: [.init(service: self.server)],
      gracefulShutdownSignals: [.sigterm, .sigint],
      logger: self.logger
    )
    configuration.maximumGracefulShutdownDuration = self.grace
    let group = ServiceGroup(configuration: configuration)
    let server = self.server
    try await withThrowingTaskGroup(of: Event.self) { tasks in
      tasks.addTask {
        try await group.run()
        return .stopped
      }
      tasks.addTask {
        try await server.waitForShutdown()
        return .drainBegan
      }
      onListening(try await server.listeningPort)
      guard try await tasks.next() == .drainBegan else {
        tasks.cancelAll()
        return
      }
      let start = ContinuousClock.now
      self.logDrainStart()
      tasks.addTask { try await self.exitIfStillRunning() }
      // The group stops (or the watchdog ends the process).
      _ = try await tasks.next()
      tasks.cancelAll()
      let took = (ContinuousClock.now - start) / .seconds(1)
      self.logger.info("stopped", metadata: ["drain-seconds": "\(String(format: "%.3f", took))"])
    }
  }

  private func logDrainStart() {
    let activity = Activity(
      calls: self.server.callsInFlight.reduce(into: [:]) { calls, entry in
        // storefront.v1.ProductService/ListProducts -> ListProducts
        let method = entry.key.split(separator: "/").last.map(String.init) ?? entry.key
        calls[method, default: 0] += entry.value
      },
      chatMembers: self.server.chat.occupancy.members
    )
    self.logger.info(
      "shutting down: no new calls; calls in flight get the grace period",
      metadata: [
        "calls-in-flight": "\(activity.callsDescription)",
        "chat-members": "\(activity.chatMembers)",
        "grace-seconds": "\(self.grace / .seconds(1))",
      ]
    )
  }

  /// After the grace period the server is cancelled. If it still has not stopped a little
  /// later (grpc-swift-nio-transport can leave a stream opened in the instant of shutdown
  /// without an answer, holding the server open), the process ends anyway: every
  /// acknowledged write is already on disk.
  private func exitIfStillRunning() async throws -> Event {
    try await Task.sleep(for: self.grace + Self.watchdogDelay)
    self.logger.warning("calls still open after the grace period; exiting")
    Foundation.exit(0)
  }
}
