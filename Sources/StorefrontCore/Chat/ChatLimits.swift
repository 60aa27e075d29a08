/// The limits of chat rooms; every one is configurable.
public struct ChatLimits: Hashable, Sendable {
  /// The longest text of one message, in characters.
  public var maxTextLength: Int
  /// The longest sender name, in characters.
  public var maxSenderLength: Int
  /// How many past messages a member gets on joining.
  public var historyLength: Int
  /// How many members one room holds.
  public var maxMembersPerRoom: Int
  /// How many messages may wait for one member; past that the member is dropped.
  public var outboxCapacity: Int
  /// The steady rate of messages one member may send per second.
  public var messagesPerSecond: Double
  /// How many messages one member may send in a burst.
  public var burst: Int

  public init(
    maxTextLength: Int = 2_000,
    maxSenderLength: Int = 64,
    historyLength: Int = 50,
    maxMembersPerRoom: Int = 10_000,
    outboxCapacity: Int = 256,
    messagesPerSecond: Double = 5,
    burst: Int = 20
  ) {
    self.maxTextLength = maxTextLength
    self.maxSenderLength = maxSenderLength
    self.historyLength = historyLength
    self.maxMembersPerRoom = maxMembersPerRoom
    self.outboxCapacity = outboxCapacity
    self.messagesPerSecond = messagesPerSecond
    self.burst = burst
  }
}
