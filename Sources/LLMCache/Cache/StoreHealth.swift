import Logging
import Metrics
import Synchronization

/// The store's health as the cache has seen it: whether its last operation
/// succeeded, and since when it has been failing.
///
/// The cache fails open — a store that cannot be reached makes every call a
/// miss, answered by the computation — so an outage is not an error any
/// caller sees. This is where it shows: ``LLMCache/storeHealth``, one log line
/// when the store goes down and one when it is back, and the metrics
/// `llm_cache_store_up` and `llm_cache_store_outages_total`.
public struct StoreHealth: Hashable, Sendable {
    /// `false` from a failed store operation until one succeeds. `true`
    /// before any operation.
    public var isAvailable: Bool
    /// How long the store has been failing; `nil` while it is available.
    public var unavailableFor: Duration?
    /// What the last failed operation threw, during the current outage; `nil`
    /// while the store is available.
    public var lastError: String?
    /// Operations that failed in the current outage (0 while available).
    public var failedOperations: Int
    /// Outages since the cache was made: times the store went from available
    /// to failing.
    public var outages: Int

    /// A health of the given fields; the cache makes its own, this is for
    /// code that reports or tests one.
    public init(isAvailable: Bool, unavailableFor: Duration? = nil, lastError: String? = nil, failedOperations: Int = 0, outages: Int = 0) {
        self.isAvailable = isAvailable
        self.unavailableFor = unavailableFor
        self.lastError = lastError
        self.failedOperations = failedOperations
        self.outages = outages
    }
}

/// The decisions behind the store-health log lines, free of clocks and locks
/// so each one can be tested directly; ``StoreHealthMonitor`` keeps one in a mutex.
///
/// up ──operation fails──► down ──operation succeeds──► up
///                         │  ▲
///                         └──┘ more failures: one reminder per `reminderInterval`
struct StoreHealthState: Sendable {
    /// What a recorded outcome calls for.
    enum Event: Equatable, Sendable {
        /// Nothing to log.
        case none
        /// The store just failed after working: an outage begins.
        case wentDown
        /// Still failing, and `reminderInterval` has passed since the last
        /// line: `failures` operations failed since then, `outage` into it.
        case stillDown(failures: Int, outage: Duration)
        /// An operation succeeded after `failures` failed over `outage`.
        case cameBack(failures: Int, outage: Duration)
    }

    let reminderInterval: Duration
    /// When the current outage began; `nil` while the store works.
    private(set) var downSince: ContinuousClock.Instant?
    private(set) var failures = 0
    private(set) var outages = 0
    private(set) var lastError: String?
    private var lastLine: ContinuousClock.Instant?
    private var failuresSinceLine = 0

    init(reminderInterval: Duration) {
        self.reminderInterval = reminderInterval
    }

    mutating func failed(now: ContinuousClock.Instant, error: String) -> Event {
        lastError = error
        failures += 1
        guard let downSince else {
            self.downSince = now
            outages += 1
            lastLine = now
            failuresSinceLine = 0
            return .wentDown
        }
        failuresSinceLine += 1
        guard let lastLine, now - lastLine >= reminderInterval else { return .none }
        self.lastLine = now
        defer { failuresSinceLine = 0 }
        return .stillDown(failures: failuresSinceLine, outage: now - downSince)
    }

    mutating func succeeded(now: ContinuousClock.Instant) -> Event {
        guard let downSince else { return .none }
        defer {
            self.downSince = nil
            failures = 0
            failuresSinceLine = 0
            lastError = nil
            lastLine = nil
        }
        return .cameBack(failures: failures, outage: now - downSince)
    }

    func snapshot(now: ContinuousClock.Instant) -> StoreHealth {
        StoreHealth(isAvailable: downSince == nil, unavailableFor: downSince.map { now - $0 }, lastError: lastError, failedOperations: failures, outages: outages)
    }
}

/// Watches the outcome of every store operation the cache makes, logs the
/// transitions (one `warning` when the store goes down, one `notice` when it
/// is back, a `warning` reminder at most once per
/// ``LLMCache/Configuration/storeOutageReminder`` while it stays down) and
/// keeps the metrics. A success while the store is up costs one atomic load.
/// Thread-safe.
final class StoreHealthMonitor: Sendable {
    private let state: Mutex<StoreHealthState>
    /// Mirrors `state.downSince != nil`, so the hit path skips the lock.
    private let down = Atomic<Bool>(false)
    private let logger: Logger
    private let upGauge: Gauge
    private let outagesCounter: Counter

    init(reminderInterval: Duration, logger: Logger, label: String, factory: any MetricsFactory) {
        state = Mutex(StoreHealthState(reminderInterval: reminderInterval))
        self.logger = logger
        upGauge = Gauge(label: "\(label)_store_up", factory: factory)
        outagesCounter = Counter(label: "\(label)_store_outages_total", factory: factory)
        upGauge.record(1)
    }

    var isDown: Bool { down.load(ordering: .relaxed) }

    var snapshot: StoreHealth { state.withLock { $0.snapshot(now: .now) } }

    func failed(operation: String, error: any Error) {
        let event = state.withLock { state in
            defer { down.store(true, ordering: .relaxed) }
            return state.failed(now: .now, error: "\(error)")
        }
        switch event {
        case .wentDown:
            outagesCounter.increment()
            upGauge.record(0)
            logger.warning("cache store unavailable; requests are answered without the cache until it is back", metadata: ["operation": "\(operation)", "error": "\(error)"])
        case .stillDown(let failures, let outage):
            logger.warning("cache store still unavailable", metadata: ["outage_seconds": "\(Int(outage.seconds))", "failed_operations": "\(failures)", "error": "\(error)"])
        case .none, .cameBack:
            break
        }
    }

    /// - Parameter reachable: the store's ``CacheStore/isBackendReachable``,
    ///   read only during an outage.
    func succeeded(reachable: @autoclosure () -> Bool) {
        guard down.load(ordering: .relaxed), reachable() else { return }
        let event = state.withLock { state in
            defer { down.store(false, ordering: .relaxed) }
            return state.succeeded(now: .now)
        }
        if case .cameBack(let failures, let outage) = event {
            upGauge.record(1)
            logger.notice("cache store available again", metadata: ["outage_seconds": "\((outage.seconds * 1000).rounded() / 1000)", "failed_operations": "\(failures)"])
        }
    }
}
