import ArgumentParser
import Foundation
import GRPCCore
import StorefrontAPI
import StorefrontClient
import SwiftProtobuf

/// `storefront chat ROOM`: Chat, lines of standard input sent, the room printed.
struct ChatCommand: AsyncParsableCommand, ClientCommand {
  static let configuration = CommandConfiguration(
    commandName: "chat",
    abstract: "Joins a product's chat room: lines you type are sent, the room's messages printed."
  )

  @Argument(help: "The room: a product id.")
  var room: String

  /// Accepted and ignored, so that old scripts still run: the server names every member
  /// by their username.
  @Option(help: .hidden)
  var name: String?

  @OptionGroup var options: ClientOptions

  /// Runs the call and prints what it answers.
  func run() async throws {
    let options = self.options
    try await self.options.withClient { client in
      try await client.chat(room: self.room) { room in
        try await withThrowingDiscardingTaskGroup { group in
          // Lines typed are sent; at the end of the input the member leaves, and the
          // server ends the stream.
          group.addTask {
            for await line in StandardInputLines.stream() {
              try room.send(line)
            }
            room.leave()
          }
          for try await message in room.messages {
            try options.print(message) { Self.format(message) }
          }
          group.cancelAll()
        }
      }
    }
  }

  private static func format(_ message: Storefront_V1_ChatMessage) -> String {
    switch message.kind {
    case .message: "#\(message.sequence) \(message.sender): \(message.text)"
    case .system: "** \(message.text)"
    default: "#\(message.sequence) -- \(message.text)"
    }
  }
}
