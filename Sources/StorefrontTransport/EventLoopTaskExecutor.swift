public import NIOCore

/// A `TaskExecutor` that runs every job on one SwiftNIO event loop.
///
/// SwiftNIO 2.101 offers an event loop as a `SerialExecutor` (`EventLoop.executor`, for actors)
/// but not as a `TaskExecutor`, which is what a task's executor preference needs. A call's task
/// prefers its connection's loop through this, so its non-isolated code, and so a handler that
/// does not suspend, runs on the thread that read its frames: no hop to the cooperative pool.
public final class EventLoopTaskExecutor: TaskExecutor, Sendable {
  /// The loop the jobs run on.
  public let eventLoop: any EventLoop

  /// An executor for `eventLoop`.
  public init(eventLoop: any EventLoop) {
    self.eventLoop = eventLoop
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    self.eventLoop.execute {
      job.runSynchronously(on: self.asUnownedTaskExecutor())
    }
  }
}
