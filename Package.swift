// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "LLMCache",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LLMCache", targets: ["LLMCache"]),
        .library(name: "LLMCacheEmbeddings", targets: ["LLMCacheEmbeddings"]),
        .library(name: "LLMCacheSQLite", targets: ["LLMCacheSQLite"]),
        .library(name: "LLMCacheRedis", targets: ["LLMCacheRedis"]),
        .library(name: "LLMCacheOpenAI", targets: ["LLMCacheOpenAI"]),
        .library(name: "LLMCacheAnthropic", targets: ["LLMCacheAnthropic"]),
        .library(name: "LLMCacheServer", targets: ["LLMCacheServer"]),
        .library(name: "LLMCacheVectorIndex", targets: ["LLMCacheVectorIndex"]),
        .library(name: "LLMCacheEvaluation", targets: ["LLMCacheEvaluation"]),
        .executable(name: "llm-cache", targets: ["LLMCacheCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // zstd from Debian's libzstd-dev: compression of large cached values.
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // CBLAS from Debian's libopenblas-dev: matrix products of the embedding model.
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Half-precision-weight matrix products for short sentences (AVX-512, chosen at run time).
        .target(name: "CKernels"),
        // Cache-line prefetch hints for the memory store's batched policy updates.
        .target(name: "CPrefetch"),
        // CRC-32C of stored values (SSE4.2 `crc32`, chosen at run time).
        .target(name: "CChecksum"),
        .target(
            name: "LLMCache",
            dependencies: [
                "CZstd",
                "CPrefetch",
                "CChecksum",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // hnswlib (header-only, Debian's libhnswlib-dev) behind a small C interface.
        .target(name: "CHNSW"),
        .target(name: "LLMCacheVectorIndex", dependencies: ["LLMCache", "CHNSW"]),
        // Labelled text pairs and how semantic matching is scored on them:
        // `llm-cache eval-semantic` and the semantic benchmarks.
        .target(name: "LLMCacheEvaluation", dependencies: ["LLMCache"]),
        .target(
            name: "LLMCacheEmbeddings",
            dependencies: ["LLMCache", "CBLAS", "CKernels", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "LLMCacheSQLite",
            dependencies: [
                "LLMCache",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API GRDB is built on, for the hit path's own connections.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // RESP client on SwiftNIO and the shared, networked RedisStore.
        .target(
            name: "LLMCacheRedis",
            dependencies: [
                "LLMCache",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LLMCacheOpenAI",
            dependencies: [
                "LLMCache",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Anthropic's Messages API: wire types, and its streams assembled and replayed.
        .target(name: "LLMCacheAnthropic", dependencies: ["LLMCache"]),
        .target(
            name: "LLMCacheServer",
            dependencies: [
                "LLMCache",
                "LLMCacheOpenAI",
                "LLMCacheAnthropic",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The HTTP/1.1 channel the connection guard sits in.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // A stand-in OpenAI upstream speaking the real wire format over real HTTP,
        // for tests and benchmarks (no model can run here). Not a product.
        .target(
            name: "LLMCacheFakeUpstream",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // glibc's allocator statistics, for bench memory's bytes per entry.
        .target(name: "CMallocInfo"),
        .executableTarget(
            name: "LLMCacheCLI",
            dependencies: [
                "CMallocInfo",
                "LLMCache",
                "LLMCacheEmbeddings",
                "LLMCacheSQLite",
                "LLMCacheRedis",
                "LLMCacheVectorIndex",
                "LLMCacheEvaluation",
                "LLMCacheOpenAI",
                "LLMCacheAnthropic",
                "LLMCacheServer",
                "LLMCacheFakeUpstream",
                "CBLAS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/llm-cache"
        ),
        // The CacheStore conformance suite, written once and run by every backend's tests.
        .target(name: "LLMCacheConformance", dependencies: ["LLMCache"]),
        .testTarget(
            name: "LLMCacheTests",
            dependencies: ["LLMCache", "LLMCacheConformance", "CMallocInfo", .product(name: "MetricsTestKit", package: "swift-metrics"), .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log")]
        ),
        .testTarget(name: "LLMCacheEvaluationTests", dependencies: ["LLMCacheEvaluation", "LLMCache"]),
        .testTarget(name: "LLMCacheVectorIndexTests", dependencies: ["LLMCacheVectorIndex", "LLMCache"]),
        .testTarget(name: "LLMCacheEmbeddingsTests", dependencies: ["LLMCacheEmbeddings"]),
        .testTarget(name: "LLMCacheSQLiteTests", dependencies: ["LLMCacheSQLite", "LLMCache", "LLMCacheConformance", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log")]),
        .testTarget(
            name: "LLMCacheRedisTests",
            dependencies: [
                "LLMCacheRedis", "LLMCache", "LLMCacheConformance", "LLMCacheEmbeddings",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "LLMCacheOpenAITests",
            dependencies: [
                "LLMCache", "LLMCacheOpenAI", "LLMCacheFakeUpstream",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "LLMCacheAnthropicTests", dependencies: ["LLMCache", "LLMCacheAnthropic"]),
        .testTarget(
            name: "LLMCacheServerTests",
            dependencies: [
                "LLMCache", "LLMCacheOpenAI", "LLMCacheAnthropic", "LLMCacheServer", "LLMCacheFakeUpstream", "LLMCacheSQLite", "LLMCacheEmbeddings", "LLMCacheRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    cxxLanguageStandard: .cxx17
)
