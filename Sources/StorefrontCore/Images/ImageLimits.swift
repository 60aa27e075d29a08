/// The limits of image uploads and downloads; every one is configurable.
public struct ImageLimits: Hashable, Sendable {
  /// The chunk sizes a client (or the server's default) may use for a download.
  public static let downloadChunkRange = 1_024 ... 1_048_576

  /// The largest image accepted, in bytes.
  public var maxImageBytes: Int64
  /// How many images one upload stream may carry.
  public var maxImagesPerUpload: Int
  /// The chunk size of a download that does not ask for one.
  public var downloadChunkBytes: Int

  public init(
    maxImageBytes: Int64 = 20 * 1024 * 1024,
    maxImagesPerUpload: Int = 16,
    downloadChunkBytes: Int = 64 * 1024
  ) {
    self.maxImageBytes = maxImageBytes
    self.maxImagesPerUpload = maxImagesPerUpload
    self.downloadChunkBytes = downloadChunkBytes
  }
}
