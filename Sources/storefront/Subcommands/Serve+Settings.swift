import Logging

extension Serve {
  /// Every option and flag of the command, in the order of `--help`: the one list that the
  /// environment (`STOREFRONT_*`), the config file and the start-up log read. A new option
  /// goes here too; a test compares this list with the command's help.
  static var settings: [ServeSetting] {
    [
      .option("config", \.config),
      .option("host", \.host),
      .option("port", \.port),
      .option("data-dir", \.dataDir),
      .option("database", \.database),
      .option("database-password-file", \.databasePasswordFile),
      .option("demo-catalog", \.demoCatalog),
      .option("log-level", \.logLevel),
      .option("log-format", \.logFormat),
      .option("metrics-port", \.metricsPort),
      .option("shutdown-grace", \.shutdownGrace),
      .option("transport", \.transport),
      .option("http2-window-bytes", \.http2WindowBytes),
      .option("http2-max-frame-bytes", \.http2MaxFrameBytes),
      .option("max-concurrent-streams", \.maxConcurrentStreams),
      .option("keepalive-time", \.keepaliveTime),
      .option("keepalive-timeout", \.keepaliveTimeout),
      .option("min-client-ping-interval", \.minClientPingInterval),
      .flag("enable-compression", \.enableCompression),
      // A file name, not the key itself.
      .option("token-key-file", \.tokenKeyFile),
      .option("token-ttl", \.tokenTtl),
      .flag("require-auth-for-reads", \.requireAuthForReads),
      .option("user-cache-time", \.userCacheTime),
      .option("login-free-failures", \.loginFreeFailures),
      .option("tls-cert", \.tlsCert),
      .option("tls-key", \.tlsKey),
      .option("tls-client-ca", \.tlsClientCa),
      .option("web-origin", \.webOrigin),
      .option("web-root", \.webRoot),
      .option("health-probe-interval", \.healthProbeInterval),
      .option("max-message-bytes", \.maxMessageBytes),
      .option("max-image-bytes", \.maxImageBytes),
      .option("max-images-per-upload", \.maxImagesPerUpload),
      .option("download-chunk-bytes", \.downloadChunkBytes),
      .option("import-batch-size", \.importBatchSize),
      .option("change-log-keep", \.changeLogKeep),
      .option("change-log-max-age", \.changeLogMaxAge),
      .option("product-cache-size", \.productCacheSize),
      .option("chat-max-text", \.chatMaxText),
      .option("chat-max-members", \.chatMaxMembers),
      .option("chat-rate", \.chatRate),
      .option("chat-burst", \.chatBurst),
      .option("chat-queue", \.chatQueue),
    ]
  }

  /// The settings as this server runs with them, for its first log line; secrets hidden.
  var effectiveSettings: Logger.Metadata {
    var metadata: Logger.Metadata = [:]
    for setting in Self.settings {
      metadata[setting.name] = .string(setting.isSecret ? "(hidden)" : setting.value(self))
    }
    return metadata
  }
}
