#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A point in wall-clock time: nanoseconds since 1970-01-01T00:00:00Z.
///
/// Cache entries outlive processes (SQLite files, Redis), so their creation and
/// expiry times are wall-clock times rather than `ContinuousClock` instants,
/// which mean nothing in another process.
public struct CacheTimestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Nanoseconds since the Unix epoch.
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    /// Milliseconds since the Unix epoch, truncated.
    public var millisecondsSinceEpoch: Int64 { nanosecondsSinceEpoch / 1_000_000 }

    public init(millisecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = millisecondsSinceEpoch &* 1_000_000
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    /// The timestamp `duration` later (earlier for a negative duration); saturates.
    public static func + (lhs: Self, rhs: Duration) -> Self {
        let (sum, overflow) = lhs.nanosecondsSinceEpoch.addingReportingOverflow(rhs.nanoseconds)
        return Self(nanosecondsSinceEpoch: overflow ? (rhs > .zero ? .max : .min) : sum)
    }

    public static func - (lhs: Self, rhs: Duration) -> Self {
        lhs + (.zero - rhs)
    }

    /// The time from `rhs` to `lhs`.
    public static func - (lhs: Self, rhs: Self) -> Duration {
        .nanoseconds(lhs.nanosecondsSinceEpoch &- rhs.nanosecondsSinceEpoch)
    }

    public var description: String { "\(nanosecondsSinceEpoch)ns" }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64`'s range.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds > 0 ? .max : .min }
        return sum
    }

    /// The duration in seconds as a `Double`.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// The source of time for expiry and age. Inject ``ManualCacheClock`` in tests to
/// move time without sleeping.
///
/// Implementations must be thread-safe: stores call `now()` from any task.
public protocol CacheClock: Sendable {
    /// The current wall-clock time.
    func now() -> CacheTimestamp

    /// The current time as a cheaper, coarser reading, which may trail ``now()``
    /// by up to one tick of the clock but never leads it. A memory-store hit
    /// tests expiry against it, so an entry is never served before it expires
    /// and may be served for up to one tick after. The default is ``now()``.
    func coarseNow() -> CacheTimestamp
}

extension CacheClock {
    public func coarseNow() -> CacheTimestamp { now() }
}

/// The system's real-time clock: `CLOCK_REALTIME`, and for ``coarseNow()``
/// `CLOCK_REALTIME_COARSE`, which the kernel updates once per tick (1 to 4 ms,
/// by its configuration) and which reads without a timestamp-counter read, so
/// a memory-store hit can afford it on every lookup (docs/MEMORY_STORE.md,
/// "The hit path"). Memcached and Redis likewise check expiry against a
/// cached clock.
public struct SystemCacheClock: CacheClock {
    public init() {}

    @inlinable
    public func now() -> CacheTimestamp {
        read(CLOCK_REALTIME)
    }

    @inlinable
    public func coarseNow() -> CacheTimestamp {
        #if os(Linux)
        read(CLOCK_REALTIME_COARSE)
        #else
        read(CLOCK_REALTIME)
        #endif
    }

    @inlinable
    func read(_ clock: clockid_t) -> CacheTimestamp {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return CacheTimestamp(nanosecondsSinceEpoch: Int64(spec.tv_sec) &* 1_000_000_000 &+ Int64(spec.tv_nsec))
    }
}

/// A clock that moves only when told to: for tests of expiry and age.
///
/// Thread-safe: reads and advances are guarded by a mutex.
public final class ManualCacheClock: CacheClock {
    private let current: Mutex<CacheTimestamp>

    /// Starts at `start`; by default 2026-01-01T00:00:00Z.
    public init(start: CacheTimestamp = CacheTimestamp(nanosecondsSinceEpoch: 1_767_225_600_000_000_000)) {
        current = Mutex(start)
    }

    public func now() -> CacheTimestamp { current.withLock { $0 } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    /// Sets the clock to `timestamp`.
    public func set(_ timestamp: CacheTimestamp) {
        current.withLock { $0 = timestamp }
    }
}
