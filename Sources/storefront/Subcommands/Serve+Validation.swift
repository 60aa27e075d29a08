import ArgumentParser
import Logging
import StorefrontCore
import StorefrontService

extension Serve {
  /// Refuses values the server could not run with, before anything starts.
  /// - Throws: `ValidationError` naming the option and its range.
  func validate() throws {
    guard Logger.Level(rawValue: self.logLevel) != nil else {
      throw ValidationError("unknown --log-level '\(self.logLevel)'")
    }
    guard ["text", "json"].contains(self.logFormat) else {
      throw ValidationError("--log-format is text or json")
    }
    guard TransportImplementation(rawValue: self.transport) != nil else {
      throw ValidationError("--transport is storefront or nio")
    }
    guard (16_384 ... 16_777_215).contains(self.http2MaxFrameBytes) else {
      throw ValidationError("--http2-max-frame-bytes must be 16384-16777215")
    }
    guard (65_535 ... Int(Int32.max)).contains(self.http2WindowBytes) else {
      throw ValidationError("--http2-window-bytes must be 65535-2147483647")
    }
    try self.validateTimes()
    _ = try DatabaseOption.resolve(url: self.database, passwordFile: self.databasePasswordFile)
    guard (self.tlsCert == nil) == (self.tlsKey == nil),
      self.tlsClientCa == nil || self.tlsCert != nil
    else {
      throw ValidationError("--tls-cert and --tls-key go together; --tls-client-ca needs both")
    }
    guard ImageLimits.downloadChunkRange.contains(self.downloadChunkBytes) else {
      throw ValidationError("--download-chunk-bytes must be 1024-1048576")
    }
    guard self.importBatchSize >= 1, self.changeLogKeep >= 1,
      (1 ... 100 * 365 * 86_400).contains(self.changeLogMaxAge)
    else {
      throw ValidationError(
        "--import-batch-size and --change-log-keep must be at least 1; --change-log-max-age "
          + "1 s to 100 years"
      )
    }
  }

  /// Durations, and the counts that go with them.
  private func validateTimes() throws {
    let day = 86_400.0
    guard (0 ... day).contains(self.shutdownGrace), self.keepaliveTime > 0,
      self.keepaliveTime <= day, self.keepaliveTimeout > 0, self.keepaliveTimeout <= day,
      self.healthProbeInterval > 0, self.healthProbeInterval <= day,
      self.minClientPingInterval > 0, self.minClientPingInterval <= day,
      self.maxConcurrentStreams >= 1, self.productCacheSize >= 0
    else {
      throw ValidationError(
        "--shutdown-grace must be 0-86400 s; keepalive and probe times above 0 and at most a "
          + "day; --max-concurrent-streams at least 1; --product-cache-size not negative"
      )
    }
    guard (1 ... 366 * day).contains(self.tokenTtl), (0 ... 3_600).contains(self.userCacheTime),
      self.loginFreeFailures >= 1
    else {
      throw ValidationError(
        "--token-ttl must be 1 s to a year, --user-cache-time 0-3600 s, "
          + "--login-free-failures at least 1"
      )
    }
  }
}
