import Testing

@testable import StorefrontService

@Suite("Deadline headers")
struct DeadlineHeaderTests {
  @Test(
    "gRPC's grpc-timeout grammar: 1-8 digits and a unit",
    arguments: [
      ("1S", true), ("12345678n", true), ("0m", true), ("5H", true), ("-1S", false),
      ("123456789S", false), ("1.5S", false), ("S", false), ("", false), ("10x", false),
      ("１S", false),
    ]
  )
  func timeoutGrammar(value: String, valid: Bool) {
    #expect((GRPCTimeout(headerValue: value) != nil) == valid)
  }

  @Test("grpc-timeout values become durations")
  func durations() {
    #expect(GRPCTimeout(headerValue: "2H")?.duration == .seconds(7_200))
    #expect(GRPCTimeout(headerValue: "3M")?.duration == .seconds(180))
    #expect(GRPCTimeout(headerValue: "250m")?.duration == .milliseconds(250))
    #expect(GRPCTimeout(headerValue: "7u")?.duration == .microseconds(7))
    #expect(GRPCTimeout(headerValue: "9n")?.duration == .nanoseconds(9))
  }
}
