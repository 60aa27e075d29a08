// swift-tools-version:6.1
// Storefront: a product-catalogue service that speaks gRPC.

import PackageDescription

let products: [Product] = [
  .executable(name: "storefront", targets: ["storefront"]),
  .executable(name: "storefront-baseline", targets: ["storefront-baseline"]),
  .library(name: "StorefrontAPI", targets: ["StorefrontAPI"]),
  .library(name: "StorefrontClient", targets: ["StorefrontClient"]),
  .library(name: "StorefrontCore", targets: ["StorefrontCore"]),
  .library(name: "StorefrontSQLite", targets: ["StorefrontSQLite"]),
  .library(name: "StorefrontPostgres", targets: ["StorefrontPostgres"]),
  .library(name: "StorefrontService", targets: ["StorefrontService"]),
  .library(name: "StorefrontTransport", targets: ["StorefrontTransport"]),
  .executable(name: "storefront-fuzz", targets: ["storefront-fuzz"]),
]

let dependencies: [Package.Dependency] = [
  .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
  .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
  .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
  .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
  .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
  .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
  .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
  .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3" ..< "5.0.0"),
  .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
  .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
  .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
  .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
  .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
  .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
  // Already in the graph through grpc-swift-nio-transport; StorefrontTransport's TLS uses it.
  .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
  .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
  .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
  .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
]

let defaultSwiftSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let targets: [Target] = [
  // Generated from Protos/ by scripts/generate-protos.sh; never edited by hand.
  .target(
    name: "StorefrontAPI",
    dependencies: [
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // The client library apps depend on: a typed async API over the generated client.
  .target(
    name: "StorefrontClient",
    dependencies: [
      .target(name: "StorefrontAPI"),
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // The domain: types, validation, the use cases, store protocols and the mechanisms any
  // store uses (cache, change tail, chat hub). No gRPC here.
  .target(
    name: "StorefrontCore",
    dependencies: [
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "CryptoExtras", package: "swift-crypto"),
      .product(name: "DequeModule", package: "swift-collections"),
      .product(name: "JWTKit", package: "jwt-kit"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // The embedded default store.
  .target(
    name: "StorefrontSQLite",
    dependencies: [
      .target(name: "StorefrontCore"),
      .product(name: "GRDB", package: "GRDB.swift"),
      .product(name: "CoreMetrics", package: "swift-metrics"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // The shared store for several replicas: PostgreSQL through postgres-nio's PostgresClient.
  .target(
    name: "StorefrontPostgres",
    dependencies: [
      .target(name: "StorefrontCore"),
      .product(name: "PostgresNIO", package: "postgres-nio"),
      .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOSSL", package: "swift-nio-ssl"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // zlib, for the gzip and deflate of StorefrontTransport.
  .systemLibrary(
    name: "CStorefrontZlib",
    pkgConfig: "zlib",
    providers: [.apt(["zlib1g-dev"])]
  ),
  // Our HTTP/2 server transport: every call served on its connection's event loop.
  .target(
    name: "StorefrontTransport",
    dependencies: [
      .target(name: "CStorefrontZlib"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "DequeModule", package: "swift-collections"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOPosix", package: "swift-nio"),
      .product(name: "NIOHTTP1", package: "swift-nio"),
      .product(name: "NIOHTTP2", package: "swift-nio-http2"),
      .product(name: "NIOHPACK", package: "swift-nio-http2"),
      .product(name: "NIOSSL", package: "swift-nio-ssl"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // gRPC handlers: proto <-> domain, error mapping, interceptors.
  .target(
    name: "StorefrontService",
    dependencies: [
      .target(name: "StorefrontAPI"),
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
      .target(name: "StorefrontPostgres"),
      .target(name: "StorefrontTransport"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      .product(name: "CoreMetrics", package: "swift-metrics"),
      .product(name: "Prometheus", package: "swift-prometheus"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOPosix", package: "swift-nio"),
      .product(name: "NIOHTTP1", package: "swift-nio"),
      .product(name: "NIOHTTP2", package: "swift-nio-http2"),
      .product(name: "NIOHPACK", package: "swift-nio-http2"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // Every RPC driven with arbitrary request bytes, for fuzzing and its regression tests.
  .target(
    name: "StorefrontFuzzing",
    dependencies: [
      .target(name: "StorefrontAPI"),
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
      .target(name: "StorefrontService"),
      .target(name: "StorefrontTransport"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // The libFuzzer target; scripts/fuzz.sh builds it with --sanitize=fuzzer.
  .executableTarget(
    name: "storefront-fuzz",
    dependencies: [.target(name: "StorefrontFuzzing")],
    swiftSettings: defaultSwiftSettings
  ),
  .executableTarget(
    name: "storefront",
    dependencies: [
      .target(name: "StorefrontAPI"),
      .target(name: "StorefrontClient"),
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
      .target(name: "StorefrontPostgres"),
      .target(name: "StorefrontService"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "Histogram", package: "hdrhistogram-swift"),
    ],
    resources: [.copy("Web")],
    swiftSettings: defaultSwiftSettings
  ),
  // The framework alone, for `storefront bench` to compare Storefront with: the same service
  // protocol with no store, on grpc-swift-2's default transport settings.
  .executableTarget(
    name: "storefront-baseline",
    dependencies: [
      .target(name: "StorefrontAPI"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // What the test targets share: temporary directories, fixtures, chat waits, store
  // factories and the store contract that every store's test target runs.
  .target(
    name: "StorefrontTestKit",
    dependencies: [
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
    ],
    path: "Tests/StorefrontTestKit",
    swiftSettings: defaultSwiftSettings
  ),
  .testTarget(
    name: "StorefrontCoreTests",
    dependencies: [
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontTestKit"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  .testTarget(
    name: "StorefrontSQLiteTests",
    dependencies: [
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
      .target(name: "StorefrontTestKit"),
      .product(name: "GRDB", package: "GRDB.swift"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  .testTarget(
    name: "StorefrontPostgresTests",
    dependencies: [
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontPostgres"),
      .target(name: "StorefrontTestKit"),
      .product(name: "PostgresNIO", package: "postgres-nio"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  .testTarget(
    name: "StorefrontFuzzingTests",
    dependencies: [
      .target(name: "StorefrontFuzzing"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
    ],
    exclude: ["Seeds", "Regressions"],
    swiftSettings: defaultSwiftSettings
  ),
  // The client library against a real server over HTTP/2.
  .testTarget(
    name: "StorefrontClientTests",
    dependencies: [
      .target(name: "StorefrontAPI"),
      .target(name: "StorefrontClient"),
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
      .target(name: "StorefrontService"),
      .target(name: "StorefrontTestKit"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  // The executable's own logic (settings, file import, output and errors), through
  // `@testable import storefront`.
  .testTarget(
    name: "StorefrontCLITests",
    dependencies: [
      .target(name: "storefront"),
      .target(name: "StorefrontAPI"),
      .target(name: "StorefrontClient"),
      .target(name: "StorefrontService"),
      .target(name: "StorefrontTestKit"),
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "Logging", package: "swift-log"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  .testTarget(
    name: "StorefrontTransportTests",
    dependencies: [
      .target(name: "StorefrontTransport"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOPosix", package: "swift-nio"),
      .product(name: "NIOHTTP2", package: "swift-nio-http2"),
      .product(name: "NIOHPACK", package: "swift-nio-http2"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
  .testTarget(
    name: "StorefrontServiceTests",
    dependencies: [
      .target(name: "StorefrontTestKit"),
      .target(name: "StorefrontAPI"),
      .target(name: "StorefrontClient"),
      .target(name: "StorefrontCore"),
      .target(name: "StorefrontSQLite"),
      .target(name: "StorefrontService"),
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      .product(name: "Logging", package: "swift-log"),
      .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ],
    swiftSettings: defaultSwiftSettings
  ),
]

let package = Package(
  name: "storefront",
  platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
  products: products,
  dependencies: dependencies,
  targets: targets
)
