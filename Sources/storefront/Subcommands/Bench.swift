import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import StorefrontAPI
import StorefrontClient

/// `storefront bench SCENARIO`: loads a server and reports throughput and latency.
struct Bench: AsyncParsableCommand, PrintsJSON {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Load-tests a server, closed loop: throughput and latency percentiles.",
    discussion: """
      Scenarios: get (GetProduct on random catalogue ids: calls/s), list (ListProducts of \
      the catalogue: products/s), upload (images of --size bytes: MiB/s), download (one \
      image of --size bytes: MiB/s), import (ImportProducts of --batch products: products/s), \
      chat (--members in a room, --senders of them at --rate messages/s each: deliveries/s \
      and delivery latency), watch (--watchers on live WatchProducts streams while --senders \
      writers each update a product --rate times a second: deliveries/s and the latency from \
      a write's send to each watcher). Each of --concurrency workers runs one operation after another \
      on one of --connections connections; operations that start in the warm-up are not \
      counted.
      """
  )

  enum Scenario: String, ExpressibleByArgument, CaseIterable, Sendable {
    case get, list, upload, download, `import`, chat, watch
  }

  @Argument(help: "get, list, upload, download, import, chat or watch.")
  var scenario: Scenario

  @OptionGroup var target: BenchTarget

  @Option(help: "HTTP/2 connections to spread the workers over.")
  var connections = 4

  @Option(help: "Operations in flight at once (chat, watch: ignored; see --members, --watchers).")
  var concurrency = 32

  @Option(help: "Seconds measured, after the warm-up.")
  var duration = 10.0

  @Option(help: "Seconds of load before measuring starts.")
  var warmup = 2.0

  @Option(help: "Stop after this many operations (0: run for --duration).")
  var count = 0

  @Option(
    help: """
      get: how many catalogue ids (the first, by id) to pick from; upload: how many products \
      (the first) the images go to, in turn; 0: all.
      """
  )
  var ids = 1_000

  @Option(help: "list: products per stream (0: the whole catalogue).")
  var pageSize = 0

  @Option(help: "upload, download: bytes per image.")
  var size = 1 << 20

  @Option(help: "upload, download: bytes per chunk.")
  var chunk = 64 * 1024

  @Option(help: "download: this image (an id), rather than one of --size uploaded first.")
  var image: String?

  @Option(help: "import: products per stream.")
  var batch = 1_000

  @Option(help: "chat: members in the room.")
  var members = 100

  @Option(help: "chat: rooms (the first products of the catalogue) the members spread over.")
  var rooms = 1

  @Option(help: "chat: how many of the members send; watch: how many writers update products.")
  var senders = 10

  @Option(
    help: ArgumentHelp(
      "chat: the senders' server, host:port, when it is not --server (another replica).",
      valueName: "address"
    )
  )
  var sendersServer: String?

  @Option(help: "chat, watch: messages or updates per second each sender sends.")
  var rate = 4.0

  @Option(help: "watch: live WatchProducts streams.")
  var watchers = 100

  @Flag(help: "Print the result as one JSON object.")
  var json = false

  /// Whether `--json` was given.
  var printsJSON: Bool { self.json }

  /// Refuses counts and sizes the scenarios cannot run with.
  func validate() throws {
    if let sendersServer = self.sendersServer {
      guard self.scenario == .chat, StorefrontClient.Server(sendersServer) != nil else {
        throw ValidationError("--senders-server is host:port, for chat")
      }
    }
    if self.count > 0, [.chat, .watch].contains(self.scenario) {
      throw ValidationError(
        "--count is for closed-loop scenarios; chat and watch run for --duration"
      )
    }
    guard self.connections >= 1, self.concurrency >= 1, self.duration >= 0, self.warmup >= 0,
      self.count >= 0, self.ids >= 0, self.pageSize >= 0, self.size >= 8, self.chunk >= 8,
      self.batch >= 1, self.members >= 1, self.rooms >= 1, self.watchers >= 1,
      self.scenario == .watch || self.senders <= self.members, self.senders >= 0,
      self.rate > 0
    else {
      throw ValidationError(
        "counts and sizes must be positive (--size and --chunk at least 8, --senders at most --members for chat)"
      )
    }
  }

  /// Runs the scenario and prints its result.
  func run() async throws {
    let plan = BenchPlan(
      connections: self.connections,
      concurrency: self.workers,
      warmup: self.count > 0 ? .zero : Duration(commandLineSeconds: self.warmup),
      duration: self.count > 0 ? .seconds(86_400) : Duration(commandLineSeconds: self.duration),
      count: self.count,
      metadata: self.target.callMetadata
    )
    let result = try await self.target.withClients(plan.connections) { clients in
      let runner = BenchRunner(plan: plan, clients: clients, label: self.target.label)
      switch self.scenario {
      case .get: return try await runner.get(ids: self.ids)
      case .list: return try await runner.list(pageSize: self.pageSize)
      case .upload:
        return try await runner.upload(size: self.size, chunk: self.chunk, products: self.ids)
      case .download:
        return try await runner.download(size: self.size, chunk: self.chunk, image: self.image)
      case .import: return try await runner.importProducts(batch: self.batch)
      case .chat:
        guard let sendersServer = self.sendersServer else {
          return try await runner.chat(senders: self.senders, rate: self.rate, rooms: self.rooms)
        }
        var sendersTarget = self.target
        sendersTarget.server = sendersServer
        return try await sendersTarget.withClients(plan.connections) { senderClients in
          try await runner.chat(
            senders: self.senders,
            rate: self.rate,
            rooms: self.rooms,
            senderClients: senderClients
          )
        }
      case .watch: return try await runner.watch(writers: self.senders, rate: self.rate)
      }
    }
    if self.json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      try writeToStandardOutput(String(decoding: try encoder.encode(result), as: UTF8.self) + "\n")
    } else {
      try writeToStandardOutput(result.summary + "\n")
    }
    if result.operations == 0 && result.units == 0 {
      throw CommandFailure("nothing was measured: \(result.firstError ?? "no operation finished")")
    }
  }

  /// Workers of the run: chat members, watchers, or operations in flight.
  private var workers: Int {
    switch self.scenario {
    case .chat: self.members
    case .watch: self.watchers
    default: self.concurrency
    }
  }

}

/// Which server `storefront bench` loads, and the metadata of every call it makes.
struct BenchTarget: ParsableArguments {
  @Option(help: "The server's address, host:port.")
  var server: String = "127.0.0.1:50051"

  @Option(help: "A name for the server in the output, e.g. storefront or baseline.")
  var label = "server"

  @Option(
    help: ArgumentHelp(
      "A bearer token sent as `authorization` on every call (default: $STOREFRONT_TOKEN).",
      valueName: "token"
    )
  )
  var token: String?

  /// The metadata every call carries, built once: the bearer token, when there is one.
  var callMetadata: Metadata {
    var metadata: Metadata = [:]
    let token = self.token ?? ProcessInfo.processInfo.environment["STOREFRONT_TOKEN"]
    if let token, !token.isEmpty {
      metadata.addString("Bearer \(token)", forKey: "authorization")
    }
    return metadata
  }

  /// Refuses a `--server` that is not host:port.
  func validate() throws {
    _ = try self.address()
  }

  private func address() throws -> StorefrontClient.Server {
    guard let address = StorefrontClient.Server(self.server) else {
      throw ValidationError("--server must be host:port, e.g. 127.0.0.1:50051")
    }
    return address
  }

  /// Runs `body` with `count` clients, each on a connection of its own; no call is retried,
  /// so every failure counts.
  func withClients<Result: Sendable>(
    _ count: Int,
    _ body: @Sendable ([BenchClient]) async throws -> Result
  ) async throws -> Result {
    let configuration = StorefrontClient.Configuration(server: try self.address(), readRetries: 1)
    let clients = try (0 ..< count).map { _ in try StorefrontClient(configuration) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients {
        group.addTask { try await client.run() }
      }
      defer {
        for client in clients { client.close() }
      }
      return try await body(clients.map(\.products))
    }
  }
}

typealias BenchClient = Storefront_V1_ProductService.Client<HTTP2ClientTransport.Posix>
