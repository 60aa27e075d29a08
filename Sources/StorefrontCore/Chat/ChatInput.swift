/// A message from a chat member, as a chat session reads it.
public struct ChatInput: Hashable, Sendable {
  /// What the member means by it.
  public enum Kind: Hashable, Sendable {
    /// The first message: join ``ChatInput/room``.
    case join
    /// Say ``ChatInput/text``; a message of no kind means this too.
    case message
    /// Leave the room.
    case leave
    /// A kind clients may not send (SYSTEM, or one this server does not know).
    case other
  }

  /// The room: a product id. Empty after the first message means the room joined.
  public var room: String
  /// The name the member claims, used only when nobody is signed in.
  public var sender: String
  public var text: String
  public var kind: Kind

  public init(room: String = "", sender: String = "", text: String = "", kind: Kind) {
    self.room = room
    self.sender = sender
    self.text = text
    self.kind = kind
  }
}
