import Foundation
import StorefrontCore
import StorefrontService

extension Serve {
  /// The server's configuration from the options.
  var serverConfiguration: StorefrontServer.Configuration {
    StorefrontServer.Configuration(
      host: self.host,
      port: self.port,
      dataDirectory: URL(fileURLWithPath: self.dataDir, isDirectory: true),
      demoCatalogSize: self.demoCatalog,
      maxRequestMessageBytes: self.maxMessageBytes,
      service: ProductService.Configuration(
        images: ImageLimits(
          maxImageBytes: self.maxImageBytes,
          maxImagesPerUpload: self.maxImagesPerUpload,
          downloadChunkBytes: self.downloadChunkBytes
        ),
        importBatchSize: self.importBatchSize
      ),
      chat: ChatLimits(
        maxTextLength: self.chatMaxText,
        maxMembersPerRoom: self.chatMaxMembers,
        outboxCapacity: self.chatQueue,
        messagesPerSecond: self.chatRate,
        burst: self.chatBurst
      ),
      changeRetention: ChangeRetention(
        maxCount: self.changeLogKeep,
        maxAge: .seconds(self.changeLogMaxAge)
      ),
      productCacheCapacity: self.productCacheSize,
      transport: self.transportSettings,
      metricsPort: self.metricsPort,
      healthProbeInterval: Duration(commandLineSeconds: self.healthProbeInterval),
      auth: AuthSettings(
        tokenKeyFile: self.tokenKeyFile.map { URL(fileURLWithPath: $0) },
        tokenLifetime: Duration(commandLineSeconds: self.tokenTtl),
        requireAuthForReads: self.requireAuthForReads,
        throttle: LoginThrottle.Configuration(freeFailures: self.loginFreeFailures),
        userCacheTime: Duration(commandLineSeconds: self.userCacheTime)
      ),
      tls: self.tlsCert.map { cert in
        TLSSettings(
          certificateChainFile: cert,
          privateKeyFile: self.tlsKey ?? "",
          clientCAFile: self.tlsClientCa
        )
      },
      web: WebSettings(
        enabled: self.transport == TransportImplementation.storefront.rawValue,
        allowedOrigins: self.webOrigins,
        pageDirectory: self.webPageDirectory
      )
    )
  }

  /// `--web-origin`'s list.
  var webOrigins: [String] {
    (self.webOrigin ?? "").split(separator: ",").map {
      String($0.trimmingCharacters(in: .whitespaces))
    }.filter { !$0.isEmpty }
  }

  /// The web page's folder: `--web-root`, else the one built into the binary's resources
  /// (`Sources/storefront/Web`, beside the executable as `storefront_storefront.resources`);
  /// nil when neither is there.
  var webPageDirectory: URL? {
    if let root = self.webRoot {
      return URL(fileURLWithPath: root, isDirectory: true)
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let built = executable.deletingLastPathComponent()
      .appendingPathComponent("storefront_storefront.resources/Web", isDirectory: true)
    return FileManager.default.fileExists(atPath: built.path) ? built : nil
  }

  private var transportSettings: TransportSettings {
    TransportSettings(
      implementation: TransportImplementation(rawValue: self.transport) ?? .storefront,
      windowBytes: self.http2WindowBytes,
      maxFrameBytes: self.http2MaxFrameBytes,
      maxConcurrentStreams: self.maxConcurrentStreams,
      keepaliveTime: Duration(commandLineSeconds: self.keepaliveTime),
      keepaliveTimeout: Duration(commandLineSeconds: self.keepaliveTimeout),
      compression: self.enableCompression,
      minClientPingInterval: Duration(commandLineSeconds: self.minClientPingInterval),
      // Connections still open when the grace period ends are closed: grpc-swift-nio-transport
      // can leave a stream opened in the instant of shutdown without an answer, and that
      // stream would otherwise hold its connection, and the server, open.
      maxGraceTime: Duration(commandLineSeconds: self.shutdownGrace)
    )
  }

  /// Whether `host` is a loopback address (or name), reachable from this machine alone.
  static func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host.hasPrefix("127.")
  }
}
