extension Duration {
  /// A duration given on the command line in seconds (fractions allowed), to the millisecond.
  init(commandLineSeconds seconds: Double) {
    self = .milliseconds(Int64(seconds * 1_000))
  }
}
