import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// `storefront-baseline [--port N] [--catalogue N]`: serves ``BaselineService`` on
/// 127.0.0.1 with grpc-swift-2's default transport settings, and prints
/// "baseline listening on 127.0.0.1:PORT" once it does.
@main
enum BaselineServer {
  static func main() async throws {
    var port = 0
    var catalogue = 100_000
    var arguments = CommandLine.arguments.dropFirst().makeIterator()
    while let argument = arguments.next() {
      switch argument {
      case "--port": port = Int(arguments.next() ?? "") ?? port
      case "--catalogue": catalogue = Int(arguments.next() ?? "") ?? catalogue
      default:
        FileHandle.standardError.write(
          Data("usage: storefront-baseline [--port N] [--catalogue N]\n".utf8)
        )
        exit(64)
      }
    }
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: "127.0.0.1", port: port),
      transportSecurity: .plaintext
    )
    let server = GRPCServer(
      transport: transport,
      services: [BaselineService(catalogueSize: catalogue)]
    )
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      guard let address = try await transport.listeningAddress.ipv4 else { return }
      FileHandle.standardOutput.write(
        Data("baseline listening on \(address.host):\(address.port)\n".utf8)
      )
    }
  }
}
