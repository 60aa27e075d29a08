import Foundation
import Logging
import StorefrontService
import StorefrontTestKit
import Synchronization
import Testing

@Suite("JSONLogHandler")
struct JSONLogHandlerTests {
  final class Lines: Sendable {
    let lines = Mutex<[String]>([])
  }

  @Test("each event is one line of JSON with time, level, label, message and the metadata")
  func oneObjectPerLine() throws {
    let sink = Lines()
    var logger = Logger(label: "storefront") { label in
      JSONLogHandler(label: label) { line in sink.lines.withLock { $0.append(line) } }
    }
    logger[metadataKey: "request-id"] = "req_1"
    logger.info("rpc finished", metadata: ["status": "ok", "path": "/a/b", "list": ["x", "y"]])
    logger.debug("not shown at info")
    let lines = sink.lines.withLock { $0 }
    #expect(lines.count == 1)
    let line = try #require(lines.first)
    #expect(line.hasSuffix("\n"))
    #expect(line.dropLast().contains("\n") == false)
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    )
    #expect(object["level"] as? String == "info")
    #expect(object["label"] as? String == "storefront")
    #expect(object["message"] as? String == "rpc finished")
    #expect(object["request-id"] as? String == "req_1")
    #expect(object["status"] as? String == "ok")
    #expect(object["path"] as? String == "/a/b")
    #expect(object["list"] as? [String] == ["x", "y"])
    let time = try #require(object["time"] as? String)
    #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(time) <= Date())
  }
}
