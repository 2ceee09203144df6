import Foundation
import Logging
import Metrics

/// The cache in front of an LLM: exact lookups by request fingerprint, a
/// semantic tier, single-flight computation on a miss, sampling policy,
/// transparent compression, statistics and fail-open error handling over any
/// ``CacheStore``.
///
/// Every answer goes through one path, ``response(for:options:computing:)``:
/// sampling policy, exact lookup, semantic lookup, single-flight, compute,
/// store. The proxy, `CachedChatClient` and library callers all take it.
///
/// ```swift
/// let cache = LLMCache(store: MemoryStore())
/// let request = try LLMRequest(json: body)
/// let answer = try await cache.response(for: request) { try await callModel(body) }
/// print(answer.source)   // .miss the first time, .hit afterwards
/// ```
///
/// Thread-safe: share one instance across all tasks. A hit takes no actor hop
/// and no lock beyond the store's own.
public final class LLMCache: Sendable {
    /// Settings of a cache. Every default is stated on its property.
    public struct Configuration: Sendable {
        /// The namespace used when a call names none. Default `"default"`.
        public var namespace: String
        /// How long stored answers live when a call gives no TTL. Default 7 days;
        /// `nil` keeps them until evicted or invalidated.
        public var defaultTTL: Duration?
        /// Compression of large values. Default: zstd for values of 1 KiB and more.
        public var compression: Compression
        /// What to do with sampled (temperature > 0) requests. Default ``SamplingPolicy/cacheAll``.
        public var sampling: SamplingPolicy
        /// What the request fingerprint ignores. Default: `stream`, `stream_options`, `user`.
        public var fingerprint: Fingerprint.Configuration
        /// How long a store operation may take before it counts as failed and the
        /// call goes on without the cache. Default 2 seconds; `nil` waits as long
        /// as the store does. Stores whose ``CacheStore/isLocal`` is true are not
        /// timed: they never wait on I/O.
        public var storeTimeout: Duration?
        /// Prefix of the swift-metrics labels. Default `"llm_cache"`.
        public var metricsPrefix: String
        /// While the store keeps failing, how often a reminder is logged: the
        /// outage itself is one `warning` when it begins and one `notice` when
        /// it ends, however many calls fail in between (``StoreHealth``).
        /// Default 60 seconds.
        public var storeOutageReminder: Duration

        public init(
            namespace: String = "default",
            defaultTTL: Duration? = .seconds(7 * 24 * 3600),
            compression: Compression = .default,
            sampling: SamplingPolicy = .cacheAll,
            fingerprint: Fingerprint.Configuration = .init(),
            storeTimeout: Duration? = .seconds(2),
            metricsPrefix: String = "llm_cache",
            storeOutageReminder: Duration = .seconds(60)
        ) {
            self.namespace = namespace
            self.defaultTTL = defaultTTL
            self.compression = compression
            self.sampling = sampling
            self.fingerprint = fingerprint
            self.storeTimeout = storeTimeout
            self.metricsPrefix = metricsPrefix
            self.storeOutageReminder = storeOutageReminder
        }
    }

    /// Per-call controls, the library form of the proxy's `Cache-Control` headers.
    public struct Options: Sendable {
        /// The namespace (tenant); `nil` uses the configured one.
        public var namespace: String?
        /// Time to live of an answer stored by this call; `nil` uses the default.
        public var ttl: Duration?
        /// Tags attached to an answer stored by this call.
        public var tags: [String]
        /// `false` skips the lookup and refreshes the entry (`no-cache`). Default `true`.
        public var lookup: Bool
        /// `false` does not store the computed answer (`no-store`). Default `true`.
        public var store: Bool
        /// Serve a cached answer only if it is at most this old (`max-age`). Default `nil`: any age.
        public var maxAge: Duration?
        /// Whether and how this call may be answered by meaning. Default ``SemanticControl/default``.
        public var semantic: SemanticControl

        public init(
            namespace: String? = nil,
            ttl: Duration? = nil,
            tags: [String] = [],
            lookup: Bool = true,
            store: Bool = true,
            maxAge: Duration? = nil,
            semantic: SemanticControl = .default
        ) {
            self.namespace = namespace
            self.ttl = ttl
            self.tags = tags
            self.lookup = lookup
            self.store = store
            self.maxAge = maxAge
            self.semantic = semantic
        }
    }

    /// Per-call control of the semantic tier (the proxy's `X-Cache-Semantic`).
    public enum SemanticControl: Hashable, Sendable {
        /// Use the semantic tier as configured, when the cache has one.
        case `default`
        /// Exact matches only for this call, and no embedding at all: its
        /// answer is not indexed, so later calls cannot find it by meaning.
        case off
        /// Use this similarity threshold (cosine, -1...1) for this call.
        case threshold(Float)
        /// No lookup by meaning for this call, but its answer is embedded and
        /// indexed as under ``default``, so later calls can find it by
        /// meaning. For a semantic index that is not complete yet: the proxy
        /// answers with it while it rebuilds the index at start-up, so that
        /// no request sees half an index and no answer is left out of it.
        case indexOnly
    }

    /// Where an answer came from.
    public enum Source: Hashable, Sendable, CustomStringConvertible {
        /// Served from the cache by exact key.
        case hit
        /// Served from the cache for a request that means the same.
        case semanticHit(similarity: Float, matched: CacheKey)
        /// Computed, because nothing usable was cached or the call asked for
        /// a fresh answer (``Options/lookup`` `false`).
        case miss
        /// Computed without looking up or storing, on purpose: the call set
        /// both ``Options/lookup`` and ``Options/store`` to `false`, or the
        /// sampling policy skips requests this hot.
        case bypass

        /// `HIT`, `SEMANTIC-HIT`, `MISS` or `BYPASS`, as in the proxy's `X-Cache` header.
        public var description: String {
            switch self {
            case .hit: return "HIT"
            case .semanticHit: return "SEMANTIC-HIT"
            case .miss: return "MISS"
            case .bypass: return "BYPASS"
            }
        }
    }

    /// An answer and how it was obtained.
    public struct Response: Sendable {
        /// The answer's bytes, decompressed.
        public var value: Data
        /// Hit, miss or bypass.
        public var source: Source
        /// The key the answer is (or would be) stored under.
        public var key: CacheKey
        /// How old the served answer is; zero for a fresh computation.
        public var age: Duration
        /// The compute time the answer originally took: saved when it is a hit.
        public var computeDuration: Duration
        /// Why a computed answer was not stored (too large, store failure), if it wasn't.
        public var storeError: CacheError?
        /// Whether this caller waited on a computation another caller started.
        public var shared: Bool
    }

    /// What the cache decided for a call it computes, handed to the computation
    /// so that it can say so to its own caller before the answer is complete
    /// (the proxy's `X-Cache` and `X-Cache-Key` headers of a relayed stream).
    public struct Computation: Sendable {
        /// The key the answer is stored under: the request's own, or one of
        /// its variant keys under ``SamplingPolicy/variants(_:)``.
        public var key: CacheKey
        /// ``Source/miss`` or ``Source/bypass``.
        public var source: Source
        /// Whether the answer will be stored.
        public var stores: Bool
    }

    /// Everything needed to compute and store a value under a key.
    struct Slot: Sendable {
        var key: CacheKey
        var namespace: String
        var model: String
        var options: Options
        /// Stored with the answer so the semantic index can find and rebuild it.
        var semantic: SemanticRecord? = nil
    }

    struct Outcome: Sendable {
        var value: Data
        var duration: Duration
        var storeError: CacheError?
    }

    /// The backing store.
    public let store: any CacheStore
    /// The settings this cache was made with.
    public let configuration: Configuration
    /// The key derivation in use.
    public let fingerprint: Fingerprint
    let clock: any CacheClock
    let logger: Logger
    let counters: CacheCounters
    let health: StoreHealthMonitor
    let flights = SingleFlight<Outcome>()
    let rotation = VariantRotation()
    /// The semantic tier consulted after an exact miss, if any.
    public let semantic: SemanticCache?
    private let semanticFollower: Task<Void, Never>?

    /// Creates a cache over `store`.
    ///
    /// - Parameters:
    ///   - clock: time for ages and expiry; the store's clock should be the same.
    ///   - logger: where fail-open events are logged: a store outage once when
    ///     it begins (`warning`) and once when it ends (`notice`), see ``StoreHealth``.
    ///   - metricsFactory: where counters, gauges and timers go; default the
    ///     process-wide `MetricsSystem.factory`.
    ///   - semantic: a semantic tier answering requests that mean the same as a
    ///     cached one; it follows the store's evictions and invalidations.
    ///     Default `nil`: exact matches only.
    public init(
        store: any CacheStore,
        semantic: SemanticCache? = nil,
        configuration: Configuration = Configuration(),
        clock: any CacheClock = SystemCacheClock(),
        logger: Logger = Logger(label: "llm-cache"),
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.store = store
        self.configuration = configuration
        self.fingerprint = Fingerprint(configuration: configuration.fingerprint)
        self.clock = clock
        self.logger = logger
        let factory = metricsFactory ?? MetricsSystem.factory
        self.counters = CacheCounters(label: configuration.metricsPrefix, factory: factory)
        self.health = StoreHealthMonitor(reminderInterval: configuration.storeOutageReminder, logger: logger, label: configuration.metricsPrefix, factory: factory)
        self.semantic = semantic
        self.semanticFollower = semantic?.follow(store)
    }

    deinit { semanticFollower?.cancel() }

    // MARK: - Invalidation, events, statistics

    /// Removes the entries `selector` matches; returns how many.
    ///
    /// Unlike lookups, invalidation does not fail open: if the store cannot be
    /// reached the error is thrown, since the caller needs to know stale answers
    /// may still be served.
    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        let removed = try await store.invalidate(selector)
        semantic?.invalidate(selector)
        return removed
    }

    /// Tells the cache that the entry `matched` was served by meaning for a
    /// request it does not answer. It stops being a semantic candidate — here
    /// and, since its stored vector is dropped, after a restart — while still
    /// answering its own exact request.
    public func reportIncorrectHit(matched: CacheKey) async throws {
        semantic?.remove(matched)
        if var entry = try await store.get(matched), entry.semantic != nil {
            entry.semantic = nil
            try await store.set(entry)
        }
    }

    /// Evictions, expirations and invalidations from now on. A subscriber that
    /// falls behind loses its oldest unread events; it never slows the cache.
    public func events(bufferSize: Int = 1024) -> AsyncStream<CacheEvent> {
        store.events.subscribe(bufferSize: bufferSize)
    }

    /// Hits, misses, time saved, and the store's entries, bytes, evictions,
    /// expirations and corrupt entries. Also updates the entries and bytes
    /// gauges and the `<prefix>_store_corrupt_entries_total` counter.
    public func statistics() async -> CacheStatistics {
        let storeStatistics = await guarded("statistics") { [store] in try await store.statistics() }
        if let storeStatistics {
            counters.entriesGauge.record(storeStatistics.entries)
            counters.storedBytesGauge.record(storeStatistics.storedBytes)
            counters.storeReported(storeStatistics)
        }
        return counters.snapshot(store: storeStatistics)
    }

    // MARK: - Store health

    /// The store's health as the cache's own operations found it: cheap (no
    /// store call), but as old as the last operation.
    public var storeHealth: StoreHealth { health.snapshot }

    /// Asks the store now, with one lookup of a key no request has, under
    /// ``Configuration/storeTimeout``, and returns its health after that;
    /// the lookup's outcome counts like any other operation's (it can end or
    /// begin an outage), but not as a store error in the statistics. For a
    /// readiness check when no traffic has shown the store's state.
    public func checkStore() async -> StoreHealth {
        let probe = CacheKey(digestBytes: [UInt8](repeating: 0, count: 32))
        do {
            _ = try await withStoreTimeout { [store] in try await store.get(probe) }
            health.succeeded(reachable: store.isBackendReachable)
        } catch {
            health.failed(operation: "check", error: error)
        }
        return health.snapshot
    }
}
