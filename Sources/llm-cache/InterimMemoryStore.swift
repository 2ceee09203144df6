import Foundation
import LLMCache
import Synchronization

/// The store behind `--store memory` until the core's `MemoryStore`
/// (W-TinyLFU, byte-bounded, on its own branch) lands: a dictionary under a
/// mutex with a byte budget enforced first-in first-out. Kept deliberately
/// small; replace its one use in `StoreLocation.openForServing` with
/// `MemoryStore` when it is on main.
final class InterimMemoryStore: CacheStore {
    private struct State {
        var entries: [CacheKey: CacheEntry] = [:]
        /// Keys in insertion order; stale keys (replaced or removed) are skipped on eviction.
        var order: [CacheKey] = []
        var head = 0
        var bytes = 0
        var rawBytes = 0
        var evictions = 0
        var expirations = 0
    }

    let budget: Int
    let events = CacheEventBus()
    private let state = Mutex(State())
    private let clock: any CacheClock

    var isLocal: Bool { true }

    init(budget: Int = 512 << 20, clock: any CacheClock = SystemCacheClock()) {
        self.budget = budget
        self.clock = clock
    }

    func get(_ key: CacheKey) async throws -> CacheEntry? {
        let now = clock.now()
        let (entry, expired) = state.withLock { state -> (CacheEntry?, Bool) in
            guard let entry = state.entries[key] else { return (nil, false) }
            if entry.isExpired(at: now) {
                Self.remove(key, from: &state)
                state.expirations += 1
                return (nil, true)
            }
            return (entry, false)
        }
        if expired { events.publish(.expired(key)) }
        return entry
    }

    func set(_ entry: CacheEntry) async throws {
        guard entry.weight <= budget else {
            throw CacheError(.entryTooLarge, "the entry weighs \(entry.weight) bytes, over the memory store's budget of \(budget) bytes")
        }
        let evicted = state.withLock { state -> [CacheKey] in
            Self.remove(entry.key, from: &state)
            state.entries[entry.key] = entry
            state.order.append(entry.key)
            state.bytes += entry.weight
            state.rawBytes += entry.rawSize
            var evicted: [CacheKey] = []
            while state.bytes > budget, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                if oldest != entry.key, state.entries[oldest] != nil {
                    Self.remove(oldest, from: &state)
                    state.evictions += 1
                    evicted.append(oldest)
                }
            }
            // Compacts the order list once most of it is consumed.
            if state.head > 1024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            return evicted
        }
        for key in evicted { events.publish(.evicted(key)) }
    }

    func delete(_ key: CacheKey) async throws -> Bool {
        state.withLock { Self.remove(key, from: &$0) }
    }

    func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        let count = state.withLock { state -> Int in
            let keys = state.entries.values.filter(selector.matches).map(\.key)
            for key in keys { Self.remove(key, from: &state) }
            return keys.count
        }
        events.publish(.invalidated(selector, count: count))
        return count
    }

    func statistics() async throws -> StoreStatistics {
        state.withLock {
            StoreStatistics(entries: $0.entries.count, storedBytes: $0.bytes, rawBytes: $0.rawBytes, evictions: $0.evictions, expirations: $0.expirations)
        }
    }

    func entries() -> AsyncThrowingStream<CacheEntry, any Error> {
        let now = clock.now()
        let snapshot = state.withLock { Array($0.entries.values) }.filter { !$0.isExpired(at: now) }
        return AsyncThrowingStream { continuation in
            for entry in snapshot { continuation.yield(entry) }
            continuation.finish()
        }
    }

    @discardableResult
    private static func remove(_ key: CacheKey, from state: inout State) -> Bool {
        guard let old = state.entries.removeValue(forKey: key) else { return false }
        state.bytes -= old.weight
        state.rawBytes -= old.rawSize
        return true
    }
}
