import Testing

@testable import storefront

@Suite("Password input")
struct PasswordInputTests {
  /// Answers prompts from a list, keeping the prompts asked.
  final class Prompts {
    var answers: [String]
    var asked: [String] = []

    init(_ answers: [String]) {
      self.answers = answers
    }

    func ask(_ prompt: String) -> String {
      self.asked.append(prompt)
      return self.answers.removeFirst()
    }
  }

  struct TooShort: Error {}

  static func readNew(_ prompts: Prompts) throws -> String {
    try PasswordInput.readNew(fromStandardInput: false, prompt: "Password: ") { password in
      if password.count < 8 { throw TooShort() }
    } ask: {
      prompts.ask($0)
    }
  }

  @Test("a new password is asked twice at the prompt")
  func twice() throws {
    let prompts = Prompts(["secret-password", "secret-password"])
    #expect(try Self.readNew(prompts) == "secret-password")
    #expect(prompts.asked == ["Password: ", "Again, to confirm: "])
  }

  @Test("two different answers are refused")
  func mismatch() {
    let prompts = Prompts(["secret-password", "secret-passw0rd"])
    let error = #expect(throws: CommandFailure.self) { try Self.readNew(prompts) }
    #expect(error?.description == "the two passwords differ; nothing was changed")
  }

  @Test("a password the check refuses is not asked for again")
  func checkedFirst() {
    let prompts = Prompts(["short", "short"])
    #expect(throws: TooShort.self) { try Self.readNew(prompts) }
    #expect(prompts.asked == ["Password: "])
  }
}
