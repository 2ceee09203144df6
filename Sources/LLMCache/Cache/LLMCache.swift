import Foundation
import Logging
import Metrics
import Synchronization

/// The cache in front of an LLM: exact lookups by request fingerprint,
/// single-flight computation on a miss, sampling policy, transparent
/// compression, statistics and fail-open error handling over any ``CacheStore``.
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

        public init(
            namespace: String = "default",
            defaultTTL: Duration? = .seconds(7 * 24 * 3600),
            compression: Compression = .default,
            sampling: SamplingPolicy = .cacheAll,
            fingerprint: Fingerprint.Configuration = .init(),
            storeTimeout: Duration? = .seconds(2),
            metricsPrefix: String = "llm_cache"
        ) {
            self.namespace = namespace
            self.defaultTTL = defaultTTL
            self.compression = compression
            self.sampling = sampling
            self.fingerprint = fingerprint
            self.storeTimeout = storeTimeout
            self.metricsPrefix = metricsPrefix
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
        /// Exact matches only for this call; its answer is still indexed.
        case off
        /// Use this similarity threshold (cosine, -1...1) for this call.
        case threshold(Float)
    }

    /// Where an answer came from.
    public enum Source: Hashable, Sendable, CustomStringConvertible {
        /// Served from the cache by exact key.
        case hit
        /// Served from the cache for a request that means the same.
        case semanticHit(similarity: Float, matched: CacheKey)
        /// Computed, because nothing usable was cached.
        case miss
        /// Computed without looking up or storing, on purpose.
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
    let flights = SingleFlight<Outcome>()
    let rotation = VariantRotation()
    /// The semantic tier consulted after an exact miss, if any.
    public let semantic: SemanticCache?
    private let semanticFollower: Task<Void, Never>?

    /// Creates a cache over `store`.
    ///
    /// - Parameters:
    ///   - clock: time for ages and expiry; the store's clock should be the same.
    ///   - logger: where fail-open events are logged (at `warning`).
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
        self.counters = CacheCounters(label: configuration.metricsPrefix, factory: metricsFactory ?? MetricsSystem.factory)
        self.semantic = semantic
        self.semanticFollower = semantic?.follow(store)
    }

    deinit { semanticFollower?.cancel() }

    // MARK: - Requests

    /// The key `request` is stored under in `namespace` (default: the configured one).
    public func key(for request: LLMRequest, namespace: String? = nil) -> CacheKey {
        fingerprint.key(for: request, namespace: namespace ?? configuration.namespace)
    }

    /// Returns the cached answer to `request`, or computes it with `compute`,
    /// stores it and returns it.
    ///
    /// Concurrent calls that miss on the same key share one run of `compute`:
    /// its result (or error) reaches them all; errors are never cached. Cancelling
    /// a caller ends only that caller's wait. When several callers share a run,
    /// the options of the one that started it decide TTL and tags.
    public func response(
        for request: LLMRequest,
        options: Options = Options(),
        compute: @escaping @Sendable () async throws -> Data
    ) async throws -> Response {
        let namespace = options.namespace ?? configuration.namespace
        var key = fingerprint.key(for: request, namespace: namespace)
        switch configuration.sampling.mode {
        case .cacheAll:
            break
        case .skipAbove(let limit):
            if SamplingPolicy.temperature(of: request) > limit {
                return try await bypass(key: key, compute: compute)
            }
        case .variants(let count):
            if SamplingPolicy.temperature(of: request) > 0, count > 1 {
                key = key.variant(rotation.next(for: key, count: count))
            }
        }
        return try await cached(Slot(key: key, namespace: namespace, model: request.model, options: options), request: request, compute: compute)
    }

    /// The cached answer to `request`, or `nil`. Counts a hit or a miss.
    ///
    /// Tries the exact key first, then — when the cache has a semantic tier and
    /// `options.semantic` is not `.off` — an answer to a request that means the
    /// same (``Source/semanticHit(similarity:matched:)``). Use it with
    /// ``store(_:for:options:computeDuration:)`` when the answer is produced
    /// outside ``response(for:options:compute:)``, as a relayed stream is.
    public func lookup(_ request: LLMRequest, options: Options = Options()) async -> Response? {
        let key = fingerprint.key(for: request, namespace: options.namespace ?? configuration.namespace)
        return await lookup(request, key: key, options: options)
    }

    /// ``lookup(_:options:)`` for a caller that already has the request's key,
    /// such as the proxy, which remembers the keys of bodies it saw recently.
    ///
    /// - Precondition: `key` is `key(for: request, namespace: options.namespace)`.
    package func lookup(_ request: LLMRequest, key: CacheKey, options: Options) async -> Response? {
        let namespace = options.namespace ?? configuration.namespace
        if let hit = await lookup(key: key, maxAge: options.maxAge, countingMiss: false) { return hit }
        if let semantic, options.semantic != .off,
           let probe = await guarded("embed", { try await semantic.probe(request, namespace: namespace) }) {
            let slot = Slot(key: key, namespace: namespace, model: request.model, options: options)
            if let hit = await semanticLookup(probe, semantic: semantic, slot: slot) { return hit }
        }
        counters.miss()
        return nil
    }

    /// Stores `value` as the answer to `request`.
    ///
    /// - Returns: why it was not stored (too large, store failure), or `nil` when it was.
    @discardableResult
    public func store(
        _ value: Data,
        for request: LLMRequest,
        options: Options = Options(),
        computeDuration: Duration = .zero
    ) async -> CacheError? {
        let namespace = options.namespace ?? configuration.namespace
        var slot = Slot(key: fingerprint.key(for: request, namespace: namespace), namespace: namespace, model: request.model, options: options)
        if let semantic, let probe = await guarded("embed", { try await semantic.probe(request, namespace: namespace) }) {
            slot.semantic = semantic.record(for: probe)
        }
        return await write(value, slot: slot, computeDuration: computeDuration)
    }

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

    /// Hits, misses, time saved, and the store's entries, bytes, evictions and
    /// expirations. Also updates the entries and bytes gauges.
    public func statistics() async -> CacheStatistics {
        let storeStatistics = await guarded("statistics") { [store] in try await store.statistics() }
        if let storeStatistics {
            counters.entriesGauge.record(storeStatistics.entries)
            counters.storedBytesGauge.record(storeStatistics.storedBytes)
        }
        return counters.snapshot(store: storeStatistics)
    }

    // MARK: - The machinery shared by requests and memoization

    func cached(_ slot: Slot, request: LLMRequest? = nil, compute: @escaping @Sendable () async throws -> Data) async throws -> Response {
        if slot.options.lookup, let hit = await lookup(key: slot.key, maxAge: slot.options.maxAge, countingMiss: false) {
            return hit
        }
        var slot = slot
        if let semantic, let request, slot.options.semantic != .off || slot.options.store {
            let namespace = slot.namespace
            if let probe = await guarded("embed", { try await semantic.probe(request, namespace: namespace) }) {
                if slot.options.lookup, slot.options.semantic != .off, let hit = await semanticLookup(probe, semantic: semantic, slot: slot) {
                    return hit
                }
                slot.semantic = semantic.record(for: probe)
            }
        }
        if slot.options.lookup { counters.miss() }
        let (outcome, shared) = try await flights.run(slot.key) { [self, slot] in
            let start = ContinuousClock.now
            let value = try await compute()
            let duration = ContinuousClock.now - start
            counters.computed(duration)
            let storeError = slot.options.store ? await write(value, slot: slot, computeDuration: duration) : nil
            return Outcome(value: value, duration: duration, storeError: storeError)
        }
        if shared { counters.shared.add(1, ordering: .relaxed) }
        return Response(
            value: outcome.value, source: .miss, key: slot.key, age: .zero,
            computeDuration: outcome.duration, storeError: outcome.storeError, shared: shared
        )
    }

    func lookup(key: CacheKey, maxAge: Duration?, countingMiss: Bool = true) async -> Response? {
        guard let entry = await guarded("get", { [store] in try await store.get(key) }) else {
            if countingMiss { counters.miss() }
            return nil
        }
        let age = clock.now() - entry.createdAt
        if let maxAge, age > maxAge {
            if countingMiss { counters.miss() }
            return nil
        }
        let value: Data
        do {
            value = try Compression.decode(entry.value, encoding: entry.encoding, rawSize: entry.rawSize)
        } catch {
            // A damaged entry would fail the same way every time: drop it so the
            // next caller recomputes and stores a good one.
            logger.warning("dropping an undecodable cache entry", metadata: ["key": "\(key)", "error": "\(error)"])
            counters.storeError(operation: "decode")
            _ = await guarded("delete") { [store] in try await store.delete(key) }
            if countingMiss { counters.miss() }
            return nil
        }
        counters.hit(saved: entry.computeDuration)
        return Response(value: value, source: .hit, key: key, age: max(.zero, age), computeDuration: entry.computeDuration, storeError: nil, shared: false)
    }

    func semanticLookup(_ probe: SemanticCache.Probe, semantic: SemanticCache, slot: Slot) async -> Response? {
        let threshold: Float? = if case .threshold(let t) = slot.options.semantic { t } else { nil }
        let store = store
        guard let match = await guarded("semantic", { try await semantic.match(probe, in: store, threshold: threshold) }) else { return nil }
        let entry = match.entry
        let age = clock.now() - entry.createdAt
        if let maxAge = slot.options.maxAge, age > maxAge { return nil }
        guard let value = try? Compression.decode(entry.value, encoding: entry.encoding, rawSize: entry.rawSize) else { return nil }
        counters.semanticHit(saved: entry.computeDuration)
        return Response(
            value: value, source: .semanticHit(similarity: match.similarity, matched: entry.key), key: slot.key,
            age: max(.zero, age), computeDuration: entry.computeDuration, storeError: nil, shared: false
        )
    }

    func write(_ value: Data, slot: Slot, computeDuration: Duration) async -> CacheError? {
        let now = clock.now()
        let (bytes, encoding) = configuration.compression.encode(value)
        let ttl = slot.options.ttl ?? configuration.defaultTTL
        let entry = CacheEntry(
            key: slot.key, value: bytes, encoding: encoding, rawSize: value.count,
            namespace: slot.namespace, model: slot.model, tags: slot.options.tags,
            createdAt: now, expiresAt: ttl.map { now + $0 }, computeDuration: computeDuration,
            semantic: slot.semantic
        )
        do {
            try await withStoreTimeout { [store] in try await store.set(entry) }
            semantic?.add(entry)
            return nil
        } catch let error as CacheError where error.code == .entryTooLarge {
            counters.rejectedEntry()
            logger.notice("answer not cached: too large", metadata: ["key": "\(slot.key)", "error": "\(error.message)"])
            return error
        } catch {
            counters.storeError(operation: "set")
            logger.warning("cache store failed; answer served but not cached", metadata: ["operation": "set", "error": "\(error)"])
            return error as? CacheError ?? CacheError(.backendUnavailable, "\(error)")
        }
    }

    func bypass(key: CacheKey, compute: @escaping @Sendable () async throws -> Data) async throws -> Response {
        counters.bypass()
        let start = ContinuousClock.now
        let value = try await compute()
        let duration = ContinuousClock.now - start
        counters.computed(duration)
        return Response(value: value, source: .bypass, key: key, age: .zero, computeDuration: duration, storeError: nil, shared: false)
    }

    /// Runs a store operation; a failure or time-out becomes `nil`, a log line
    /// and a metric (fail open).
    func guarded<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () async throws -> T?) async -> T? {
        do {
            return try await withStoreTimeout(body)
        } catch {
            counters.storeError(operation: operation)
            logger.warning("cache store failed; continuing without it", metadata: ["operation": "\(operation)", "error": "\(error)"])
            return nil
        }
    }

    func withStoreTimeout<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let timeout = configuration.storeTimeout, !store.isLocal else { return try await body() }
        return try await withDeadline(timeout, body)
    }
}

/// Runs `body`, giving up after `timeout` with ``CacheError/Code/timeout``.
///
/// Unlike a task group, this returns at the deadline even when `body` ignores
/// cancellation: the caller is never held hostage by a hung backend. When
/// `body` finishes first its timer is cancelled at once: left to run out, every
/// call would leave a sleeping task and a timer behind for `timeout`, tens of
/// thousands of them at a busy proxy's hit rate.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    let timer = TimerSlot()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            if once.resume(result) { timer.cancel() }
        }
        timer.start {
            // A cancelled sleep means `body` won the race.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            if once.resume(.failure(CacheError(.timeout, "the cache store did not answer within \(timeout); check that it is running and reachable"))) {
                work.cancel()
            }
        }
    }
}

/// The timer task of one ``withDeadline(_:_:)`` call, which the work may
/// cancel before or after it has started.
final class TimerSlot: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func start(_ operation: @escaping @Sendable () async -> Void) {
        let task = Task(operation: operation)
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}

/// A continuation resumed by whichever of several racers finishes first.
/// ``set(_:)`` is called before any racer starts.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// Returns true when this call was the one that resumed.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        guard let continuation = continuation.withLock({ state in defer { state = nil }; return state }) else { return false }
        continuation.resume(with: result)
        return true
    }
}
