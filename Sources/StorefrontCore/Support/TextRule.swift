/// What a text field of the API may hold: a length in characters, and no control characters
/// but line breaks and tabs (NUL, ESC and BEL are not text, and would reach terminals and
/// logs). Product fields and chat messages follow it.
public struct TextRule: Hashable, Sendable {
  /// The fewest characters; 0 lets the field be empty.
  public var minimum: Int
  /// The most characters.
  public var maximum: Int

  public init(minimum: Int, maximum: Int) {
    self.minimum = minimum
    self.maximum = maximum
  }

  /// What is wrong with `text`, in a sentence for a field violation; nil when it is fine.
  public func problem(with text: String) -> String? {
    let count = text.count
    if count < self.minimum {
      return "must not be empty"
    }
    if count > self.maximum {
      return "must be at most \(self.maximum) characters"
    }
    if Self.containsControlCharacters(text, allowingLineBreaks: true) {
      return "must not contain control characters"
    }
    return nil
  }

  /// Whether `text` holds a control character; line breaks and tabs count only when
  /// `allowingLineBreaks` is false (names and file names are one line).
  public static func containsControlCharacters(
    _ text: String,
    allowingLineBreaks: Bool
  ) -> Bool {
    text.unicodeScalars.contains { scalar in
      scalar.properties.generalCategory == .control
        && !(allowingLineBreaks && (scalar == "\n" || scalar == "\t"))
    }
  }
}
