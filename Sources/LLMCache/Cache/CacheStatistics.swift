import Metrics
import Synchronization

/// A snapshot of what a cache has done and holds.
public struct CacheStatistics: Hashable, Sendable {
    /// Lookups answered from the cache by exact key.
    public var hits: Int
    /// Lookups answered from the cache by meaning.
    public var semanticHits: Int
    /// Calls whose answer was computed because nothing usable was cached
    /// (nothing found, or a stale or undecodable entry), or because the call
    /// asked for a fresh answer to store (``LLMCache/Options/lookup`` `false`).
    public var misses: Int
    /// Calls that skipped the cache on purpose: neither looked up nor stored
    /// (``LLMCache/Options`` with both `lookup` and `store` `false`), or
    /// skipped by the sampling policy.
    public var bypasses: Int
    /// Store operations that failed and were turned into misses (fail open).
    public var storeErrors: Int
    /// Texts not embedded because as many as
    /// ``SemanticCache/Configuration/maximumPendingEmbeddings`` were already
    /// waiting: their requests were looked up, and their answers stored, by
    /// exact key only.
    public var semanticSkips: Int
    /// Values not stored because they exceeded the maximum entry size.
    public var rejectedEntries: Int
    /// Computations that ran (misses minus callers who waited on another's run).
    public var computations: Int
    /// Callers that waited on a computation another caller had started.
    public var sharedComputations: Int
    /// The sum of the recorded compute time of every hit: time the cache saved.
    public var timeSaved: Duration
    /// What the store reports; `nil` when it could not be read.
    public var store: StoreStatistics?

    /// Exact and semantic hits over all lookups, or 0 before any lookup.
    public var hitRatio: Double {
        let total = hits + semanticHits + misses
        return total == 0 ? 0 : Double(hits + semanticHits) / Double(total)
    }
}

/// The facade's counters: atomics for the snapshot, swift-metrics for export.
final class CacheCounters: Sendable {
    let hits = Atomic<Int>(0)
    let semanticHits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let bypasses = Atomic<Int>(0)
    let storeErrors = Atomic<Int>(0)
    let semanticSkips = Atomic<Int>(0)
    let rejected = Atomic<Int>(0)
    let computations = Atomic<Int>(0)
    let shared = Atomic<Int>(0)
    let savedNanoseconds = Atomic<Int64>(0)

    private let hitCounter: Counter
    private let semanticHitCounter: Counter
    private let missCounter: Counter
    private let bypassCounter: Counter
    private let rejectedCounter: Counter
    private let semanticSkipCounter: Counter
    /// One record per hit of the compute time it saved; its sum is the total saved.
    private let savedTimer: Metrics.Timer
    private let computeTimer: Metrics.Timer
    private let label: String
    private let factory: any MetricsFactory
    let storedBytesGauge: Gauge
    let entriesGauge: Gauge
    /// The store's ``StoreStatistics/corruptEntries`` at the last statistics
    /// read: the store counts, the facade exports the increase as a counter.
    private let corruptEntriesSeen = Atomic<Int>(0)
    private let corruptEntriesCounter: Counter

    init(label: String, factory: any MetricsFactory) {
        self.label = label
        self.factory = factory
        hitCounter = Counter(label: "\(label)_hits_total", factory: factory)
        semanticHitCounter = Counter(label: "\(label)_semantic_hits_total", factory: factory)
        missCounter = Counter(label: "\(label)_misses_total", factory: factory)
        bypassCounter = Counter(label: "\(label)_bypasses_total", factory: factory)
        rejectedCounter = Counter(label: "\(label)_rejected_entries_total", factory: factory)
        semanticSkipCounter = Counter(label: "\(label)_semantic_skipped_total", factory: factory)
        savedTimer = Metrics.Timer(label: "\(label)_time_saved_seconds", factory: factory)
        computeTimer = Metrics.Timer(label: "\(label)_compute_duration_seconds", factory: factory)
        storedBytesGauge = Gauge(label: "\(label)_stored_bytes", factory: factory)
        entriesGauge = Gauge(label: "\(label)_entries", factory: factory)
        corruptEntriesCounter = Counter(label: "\(label)_store_corrupt_entries_total", factory: factory)
    }

    /// Adds to the corrupt-entries counter what the store counted since the
    /// last read. A store that was replaced or restarted and reports fewer
    /// starts the count again from its figure.
    func storeReported(_ statistics: StoreStatistics) {
        let now = statistics.corruptEntries
        let before = corruptEntriesSeen.exchange(now, ordering: .relaxed)
        if now > before { corruptEntriesCounter.increment(by: now - before) }
    }

    func hit(saved: Duration) {
        hits.add(1, ordering: .relaxed)
        hitCounter.increment()
        recordSaved(saved)
    }

    func semanticHit(saved: Duration) {
        semanticHits.add(1, ordering: .relaxed)
        semanticHitCounter.increment()
        recordSaved(saved)
    }

    private func recordSaved(_ saved: Duration) {
        let nanos = saved.nanoseconds
        savedNanoseconds.add(nanos, ordering: .relaxed)
        savedTimer.recordNanoseconds(nanos)
    }

    func miss() {
        misses.add(1, ordering: .relaxed)
        missCounter.increment()
    }

    func bypass() {
        bypasses.add(1, ordering: .relaxed)
        bypassCounter.increment()
    }

    func storeError(operation: String) {
        storeErrors.add(1, ordering: .relaxed)
        Counter(label: "\(label)_store_errors_total", dimensions: [("operation", operation)], factory: factory).increment()
    }

    func semanticSkip() {
        semanticSkips.add(1, ordering: .relaxed)
        semanticSkipCounter.increment()
    }

    func rejectedEntry() {
        rejected.add(1, ordering: .relaxed)
        rejectedCounter.increment()
    }

    func computed(_ duration: Duration) {
        computations.add(1, ordering: .relaxed)
        computeTimer.recordNanoseconds(duration.nanoseconds)
    }

    func snapshot(store: StoreStatistics?) -> CacheStatistics {
        CacheStatistics(
            hits: hits.load(ordering: .relaxed),
            semanticHits: semanticHits.load(ordering: .relaxed),
            misses: misses.load(ordering: .relaxed),
            bypasses: bypasses.load(ordering: .relaxed),
            storeErrors: storeErrors.load(ordering: .relaxed),
            semanticSkips: semanticSkips.load(ordering: .relaxed),
            rejectedEntries: rejected.load(ordering: .relaxed),
            computations: computations.load(ordering: .relaxed),
            sharedComputations: shared.load(ordering: .relaxed),
            timeSaved: .nanoseconds(savedNanoseconds.load(ordering: .relaxed)),
            store: store
        )
    }
}
