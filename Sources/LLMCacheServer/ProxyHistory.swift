import LLMCache
import Synchronization

/// What the proxy has served, over time and in total, for the dashboard
/// (`/admin/history`, `/admin/breakdown`, `/admin/semantic-hits`).
///
/// Two rings of time buckets: 360 of 10 seconds (the last hour) and 288 of
/// 5 minutes (the last day). Each bucket counts the requests of each
/// ``ProxyMetrics/Outcome``, what hits saved, and the latency of hits (exact
/// and semantic) and of misses in a ``LatencyHistogram``. Beside them, the
/// totals by route and model (``ProxyBreakdown``) and the last semantic hits
/// (``RecentSemanticHits``).
///
/// Every array is allocated here, at start, and never grows: the rings take
/// 585,792 bytes (648 buckets of 904), the breakdown and the semantic hits
/// at most some 100 KB more, whatever the traffic and however long the proxy
/// runs. A bucket is cleared when its slot is reused, a ring's length later.
///
/// Recording a request takes one lock, a coarse clock read and a few
/// integer adds, with no allocation (a new model name, at most 50 of them,
/// and a semantic hit's text are stored once): about 0.1 µs in a release
/// build, against some 125 µs a proxy hit takes. A reader copies a ring into
/// new storage inside the lock and reads the copy outside it, so a recording
/// never waits for the figures to be computed, nor copies a ring a reader
/// still shares. Thread-safe.
final class ProxyHistory: Sendable {
    /// Which ring a history is read from.
    enum Range: String, CaseIterable, Sendable {
        /// The last hour, in 10-second buckets.
        case hour
        /// The last day, in 5-minute buckets.
        case day

        var interval: Int64 { self == .hour ? 10 : 300 }
        var capacity: Int { self == .hour ? 360 : 288 }
    }

    /// What a finished request adds beside its route, outcome and duration.
    struct Facts: Sendable {
        /// The request's `model`; `nil` when the request was not read (rejected).
        var model: String?
        /// Prompt and completion tokens a hit's answer saved.
        var savedTokens = 0
        /// The estimated US dollars a hit saved.
        var savedCost = 0.0
        /// Set on a semantic hit.
        var semanticHit: RecentSemanticHits.Hit?
    }

    /// One bucket of a history, read.
    struct Bucket: Sendable, Equatable {
        /// Unix seconds at which the bucket began.
        var start: Int64
        /// Requests by ``ProxyMetrics/Outcome/rawValue``.
        var requests: [Int]
        /// Estimated latency quantiles in milliseconds; `nil` with no such request.
        var hitP50: Double?
        var hitP99: Double?
        var missP50: Double?
        var missP99: Double?
        var savedTokens: Int
        var savedCost: Double
    }

    private struct State {
        var hour: HistoryRing
        var day: HistoryRing
        var breakdown = ProxyBreakdown()
        var semanticHits = RecentSemanticHits()
    }

    private let state: Mutex<State>
    private let clock: any CacheClock

    /// Starts empty, at `clock`'s present; buckets before it are never shown.
    init(clock: any CacheClock = SystemCacheClock()) {
        self.clock = clock
        let now = Self.seconds(clock.now())
        state = Mutex(State(
            hour: HistoryRing(interval: Range.hour.interval, capacity: Range.hour.capacity, since: now),
            day: HistoryRing(interval: Range.day.interval, capacity: Range.day.capacity, since: now)
        ))
    }

    /// Records one finished request, dated now.
    func record(_ route: ProxyMetrics.Route, _ outcome: ProxyMetrics.Outcome, elapsed: Duration, _ facts: Facts) {
        // A coarse reading may trail by a few milliseconds: nothing next to
        // 10-second buckets, and cheaper on every request.
        let now = Self.seconds(clock.coarseNow())
        let bin = LatencyHistogram.bin(elapsed)
        let latencyClass = LatencyHistogram.Class(outcome)
        state.withLock { state in
            state.hour.record(outcome, latencyClass, bin: bin, savedTokens: facts.savedTokens, savedCost: facts.savedCost, at: now)
            state.day.record(outcome, latencyClass, bin: bin, savedTokens: facts.savedTokens, savedCost: facts.savedCost, at: now)
            state.breakdown.record(route, outcome, model: facts.model, savedTokens: facts.savedTokens, savedCost: facts.savedCost)
            if let hit = facts.semanticHit { state.semanticHits.append(hit, at: now) }
        }
    }

    /// The buckets of `range` that have started since the history began,
    /// oldest first, the current one last; empty ones included, so that they
    /// are evenly spaced. At most 360 (hour) or 288 (day).
    func buckets(_ range: Range) -> (now: Int64, buckets: [Bucket]) {
        let now = Self.seconds(clock.now())
        // Copied inside the lock, read outside it: reading a full ring takes
        // some 0.5 ms, copying it some 0.01.
        let ring = state.withLock { range == .hour ? $0.hour.copied() : $0.day.copied() }
        return (now, ring.buckets(at: now))
    }

    /// The totals by route and by model.
    func breakdown() -> ProxyBreakdown.Snapshot {
        state.withLock { $0.breakdown.snapshot() }
    }

    /// The last `limit` semantic hits, newest first.
    func semanticHits(limit: Int) -> [RecentSemanticHits.Dated] {
        state.withLock { $0.semanticHits.newest(limit) }
    }

    static func seconds(_ time: CacheTimestamp) -> Int64 {
        time.nanosecondsSinceEpoch / 1_000_000_000
    }
}

/// One ring of time buckets, its arrays flat and allocated once: slot `s`
/// holds bucket number `numbers[s]` (Unix seconds / interval), or a bucket
/// that ended a ring's length ago and is cleared when the slot is next written.
struct HistoryRing {
    let interval: Int64
    let capacity: Int
    /// The number of the bucket the history began in: none before is shown.
    let first: Int64
    private var numbers: [Int64]
    private var counts: [Int]
    private var latency: [UInt32]
    private var savedTokens: [Int]
    private var savedCost: [Double]
    /// The second last recorded and its slot, so that the requests of one
    /// second find their slot without two divisions each.
    private var lastSecond: Int64 = -1
    private var lastSlot = 0

    private static let outcomes = ProxyMetrics.Outcome.allCases.count
    private static let bins = LatencyHistogram.binCount
    private static let classes = LatencyHistogram.Class.allCases.count

    init(interval: Int64, capacity: Int, since seconds: Int64) {
        self.interval = interval
        self.capacity = capacity
        first = seconds / interval
        numbers = Array(repeating: -1, count: capacity)
        counts = Array(repeating: 0, count: capacity * Self.outcomes)
        latency = Array(repeating: 0, count: capacity * Self.classes * Self.bins)
        savedTokens = Array(repeating: 0, count: capacity)
        savedCost = Array(repeating: 0, count: capacity)
    }

    /// A copy in new storage, so that the next recording does not copy the
    /// ring on write.
    func copied() -> HistoryRing {
        var copy = self
        copy.numbers = numbers.withUnsafeBufferPointer { Array($0) }
        copy.counts = counts.withUnsafeBufferPointer { Array($0) }
        copy.latency = latency.withUnsafeBufferPointer { Array($0) }
        copy.savedTokens = savedTokens.withUnsafeBufferPointer { Array($0) }
        copy.savedCost = savedCost.withUnsafeBufferPointer { Array($0) }
        return copy
    }

    /// The bytes the ring's arrays hold.
    var bytes: Int {
        capacity * (MemoryLayout<Int64>.stride + Self.outcomes * MemoryLayout<Int>.stride
            + Self.classes * Self.bins * MemoryLayout<UInt32>.stride + MemoryLayout<Int>.stride + MemoryLayout<Double>.stride)
    }

    mutating func record(_ outcome: ProxyMetrics.Outcome, _ latencyClass: LatencyHistogram.Class?, bin: Int, savedTokens tokens: Int, savedCost cost: Double, at seconds: Int64) {
        let slot: Int
        if seconds == lastSecond {
            slot = lastSlot
        } else {
            let number = seconds / interval
            slot = Int(number % Int64(capacity))
            if numbers[slot] != number {
                // A request dated before the slot's bucket (the wall clock was
                // set back) belongs to a bucket already gone.
                guard numbers[slot] < number else { return }
                clear(slot)
                numbers[slot] = number
            }
            lastSecond = seconds
            lastSlot = slot
        }
        counts[slot * Self.outcomes + outcome.rawValue] &+= 1
        if let latencyClass {
            latency[(slot * Self.classes + latencyClass.rawValue) * Self.bins + bin] &+= 1
        }
        savedTokens[slot] &+= tokens
        savedCost[slot] += cost
    }

    private mutating func clear(_ slot: Int) {
        for index in slot * Self.outcomes..<(slot + 1) * Self.outcomes { counts[index] = 0 }
        for index in slot * Self.classes * Self.bins..<(slot + 1) * Self.classes * Self.bins { latency[index] = 0 }
        savedTokens[slot] = 0
        savedCost[slot] = 0
    }

    /// The buckets from the later of the first one and a ring's length ago
    /// to the one `seconds` falls in.
    func buckets(at seconds: Int64) -> [ProxyHistory.Bucket] {
        let current = seconds / interval
        let oldest = max(first, current - Int64(capacity) + 1)
        guard oldest <= current else { return [] }
        var buckets: [ProxyHistory.Bucket] = []
        buckets.reserveCapacity(Int(current - oldest + 1))
        for number in oldest...current {
            let slot = Int(number % Int64(capacity))
            var bucket = ProxyHistory.Bucket(start: number * interval, requests: Array(repeating: 0, count: Self.outcomes), savedTokens: 0, savedCost: 0)
            if numbers[slot] == number {
                for outcome in 0..<Self.outcomes { bucket.requests[outcome] = counts[slot * Self.outcomes + outcome] }
                (bucket.hitP50, bucket.hitP99) = quantiles(slot, .hits)
                (bucket.missP50, bucket.missP99) = quantiles(slot, .misses)
                bucket.savedTokens = savedTokens[slot]
                bucket.savedCost = savedCost[slot]
            }
            buckets.append(bucket)
        }
        return buckets
    }

    private func quantiles(_ slot: Int, _ latencyClass: LatencyHistogram.Class) -> (Double?, Double?) {
        let base = (slot * Self.classes + latencyClass.rawValue) * Self.bins
        let counts = latency[base..<base + Self.bins]
        return (LatencyHistogram.quantile(0.5, of: counts), LatencyHistogram.quantile(0.99, of: counts))
    }
}

/// A fixed log-scale latency histogram: four linear bins to each doubling
/// from 16 µs to about 18 minutes (104 bins), as HdrHistogram lays them
/// out. A bin spans a quarter of its octave, so a quantile read from it is
/// within about 12% of the true one; below 20 µs is one bin, above the top
/// counts as the top.
enum LatencyHistogram {
    /// Which latencies a bucket keeps.
    enum Class: Int, CaseIterable, Sendable {
        /// Exact and semantic hits.
        case hits
        /// Misses (not bypasses, errors or rejections).
        case misses

        init?(_ outcome: ProxyMetrics.Outcome) {
            switch outcome {
            case .hit, .semanticHit: self = .hits
            case .miss: self = .misses
            case .bypass, .upstreamError, .rejected: return nil
            }
        }
    }

    static let firstOctave = 4
    static let octaves = 26
    static let binCount = octaves * 4

    /// The bin of `duration`: the octave from its leading bit, the quarter
    /// from the next two.
    static func bin(_ duration: Duration) -> Int {
        // From the components: `nanoseconds` checks for overflow at a
        // measurable cost per request.
        let (seconds, attoseconds) = duration.components
        guard seconds < 1 << 40 else { return binCount - 1 }
        let microseconds = max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        guard microseconds >= 1 << firstOctave else { return 0 }
        let octave = 63 - microseconds.leadingZeroBitCount
        let quarter = Int((microseconds >> (octave - 2)) & 3)
        return min(binCount - 1, (octave - firstOctave) * 4 + quarter)
    }

    /// The bounds of bin `index`, in microseconds; the first starts at 0.
    static func bounds(_ index: Int) -> (lower: Double, upper: Double) {
        let octave = Double(1 << (firstOctave + index / 4))
        let quarter = Double(index % 4)
        return (index == 0 ? 0 : octave * (4 + quarter) / 4, octave * (5 + quarter) / 4)
    }

    /// The `q` quantile of `counts` in milliseconds (to the microsecond),
    /// interpolated within its bin; `nil` when `counts` is all zeros.
    static func quantile(_ q: Double, of counts: ArraySlice<UInt32>) -> Double? {
        var total = 0
        for count in counts { total += Int(count) }
        guard total > 0 else { return nil }
        let rank = max(1, (q * Double(total)).rounded(.up))
        var below = 0.0
        for (index, count) in zip(0..., counts) where count > 0 {
            let count = Double(count)
            if below + count >= rank {
                let (lower, upper) = bounds(index)
                // The rank's place among the bin's samples, each taken at the
                // middle of its share of the bin.
                let microseconds = lower + (upper - lower) * (rank - below - 0.5) / count
                return (microseconds).rounded() / 1000
            }
            below += count
        }
        return nil
    }
}

extension ProxyHistory {
    /// The bytes the two rings' arrays hold: 585,792.
    var ringBytes: Int {
        state.withLock { $0.hour.bytes + $0.day.bytes }
    }
}

/// A ``ProxyHistory`` for `llm-cache bench proxy`, which lives in another
/// module, to measure what the history holds after a day of traffic
/// (`proxy.history.bytes`): it records and reads as the proxy's requests and
/// the admin API do, the route and outcome given by number. Thread-safe.
package struct ProxyHistoryProbe: Sendable {
    /// The routes (``ProxyMetrics/Route``) and outcomes (``ProxyMetrics/Outcome``) by number.
    package static let routes = ProxyMetrics.Route.allCases.count
    package static let outcomes = ProxyMetrics.Outcome.allCases.count
    /// The outcome number of a semantic hit, the one that keeps its text.
    package static let semanticHit = ProxyMetrics.Outcome.semanticHit.rawValue

    private let history: ProxyHistory

    /// An empty history, dated by `clock`.
    package init(clock: any CacheClock) {
        history = ProxyHistory(clock: clock)
    }

    /// Records one request of route number `route` (`0..<routes`) and
    /// outcome number `outcome` (`0..<outcomes`); a semantic hit keeps
    /// `key`, `similarity` and `text` as ``RecentSemanticHits`` does.
    package func record(route: Int, outcome: Int, elapsed: Duration, model: String, savedTokens: Int, savedCost: Double, key: CacheKey, text: String) {
        let route = ProxyMetrics.Route(rawValue: route)!
        let outcome = ProxyMetrics.Outcome(rawValue: outcome)!
        var facts = ProxyHistory.Facts(model: model, savedTokens: savedTokens, savedCost: savedCost)
        if outcome == .semanticHit {
            facts.semanticHit = RecentSemanticHits.Hit(route: route, model: model, similarity: 0.9, key: key, text: text)
        }
        history.record(route, outcome, elapsed: elapsed, facts)
    }

    /// Reads all that the admin API shows (both rings, the breakdown, the
    /// last 100 semantic hits); returns the buckets and hits read.
    package func read() -> Int {
        history.buckets(.hour).buckets.count + history.buckets(.day).buckets.count
            + history.breakdown().models.count + history.semanticHits(limit: RecentSemanticHits.capacity).count
    }

    /// The bytes the two rings' arrays hold, as the history counts them.
    package var ringBytes: Int { history.ringBytes }
}
