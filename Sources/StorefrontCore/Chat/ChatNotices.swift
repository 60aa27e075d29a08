import Synchronization

/// What a store shared by several processes tells the ``ChatHub`` of one process about chat
/// history the others write: the hub reads the messages themselves from the store.
public final class ChatNotices: Sendable {
  /// One notice.
  public enum Notice: Hashable, Sendable {
    /// A message of `room` with `sequence` was committed (every message below it before).
    case committed(room: String, sequence: Int64)
    /// `room`'s product was deleted: its room closes.
    case closed(room: String)
    /// Notices may have been missed (the store lost its way of hearing them, and has it
    /// again): every room catches up from the store.
    case resumed
  }

  private let listener = Mutex<(@Sendable (Notice) -> Void)?>(nil)

  public init() {}

  /// Tells the listener, if any, of `notice`. The store calls it as it hears.
  public func post(_ notice: Notice) {
    let listener = self.listener.withLock { $0 }
    listener?(notice)
  }

  /// Makes `listener` the one that hears every notice from now on.
  func listen(_ listener: @escaping @Sendable (Notice) -> Void) {
    self.listener.withLock { $0 = listener }
  }
}
