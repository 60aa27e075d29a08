import Foundation
import Logging
import StorefrontService
import Synchronization
import Testing

@Suite("TextLogHandler")
struct TextLogHandlerTests {
  final class Lines: Sendable {
    let lines = Mutex<[String]>([])
  }

  /// Lines of a logger labelled "storefront" at info, with `provider`.
  private static func logger(
    into sink: Lines,
    provider: Logger.MetadataProvider? = nil
  ) -> Logger {
    Logger(label: "storefront") { label in
      TextLogHandler(label: label, metadataProvider: provider) { line in
        sink.lines.withLock { $0.append(line) }
      }
    }
  }

  @Test("a line is StreamLogHandler's: time, level, label, sorted metadata, source, message")
  func format() throws {
    let sink = Lines()
    var logger = Self.logger(into: sink)
    logger[metadataKey: "request-id"] = "req_1"
    logger.info("rpc finished", metadata: ["status": "ok", "path": "/a/b"])
    logger.debug("not shown at info")
    logger.warning("plain")
    let lines = sink.lines.withLock { $0 }
    try #require(lines.count == 2)
    let time = #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}"#
    #expect(
      lines[0].wholeMatch(
        of: try Regex(
          time + #" info storefront: path=/a/b request-id=req_1 status=ok \[\w+\] rpc finished\n"#
        )
      ) != nil,
      "\(lines[0])"
    )
    #expect(
      lines[1].wholeMatch(
        of: try Regex(time + #" warning storefront: request-id=req_1 \[\w+\] plain\n"#)
      )
        != nil,
      "\(lines[1])"
    )
  }

  @Test("the metadata provider's values and an error's are in the line; the event's win")
  func providerAndError() throws {
    struct Failure: Error {}
    let sink = Lines()
    let provider = Logger.MetadataProvider { ["trace": "t1", "status": "provided"] }
    let logger = Self.logger(into: sink, provider: provider)
    logger.error("failed", error: Failure(), metadata: ["status": "explicit"])
    let line = try #require(sink.lines.withLock { $0.first })
    #expect(line.contains(" storefront: "))
    #expect(line.contains("status=explicit"))
    #expect(line.contains("trace=t1"))
    #expect(line.contains("error.type=StorefrontServiceTests.TextLogHandlerTests"))
    #expect(line.hasSuffix("] failed\n"))
  }

  @Test("the timestamp is the current second's")
  func timestampIsNow() throws {
    let sink = Lines()
    let logger = Self.logger(into: sink)
    let before = Date().timeIntervalSince1970.rounded(.down)
    logger.info("now")
    let after = Date().timeIntervalSince1970.rounded(.down)
    let line = try #require(sink.lines.withLock { $0.first })
    let stamp = try #require(line.split(separator: " ").first)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssZ"
    let parsed = try #require(formatter.date(from: String(stamp))).timeIntervalSince1970
    #expect(parsed >= before && parsed <= after)
  }
}
