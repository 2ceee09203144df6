import Foundation
import LLMCache
import Synchronization

/// The simplest store that keeps the CacheStore contract: a dictionary scanned
/// for every invalidation. It checks the conformance suite itself, and lets
/// facade tests count store calls.
final class DictionaryStore: CacheStore {
    private let entriesByKey = Mutex<[CacheKey: CacheEntry]>([:])
    let clock: any CacheClock
    let maximumEntryWeight: Int
    let events = CacheEventBus()
    let gets = Atomic<Int>(0)
    let sets = Atomic<Int>(0)
    /// What ``statistics()`` reports as corrupt entries, set by tests.
    let corruptEntries = Atomic<Int>(0)

    init(clock: any CacheClock = SystemCacheClock(), maximumEntryWeight: Int = 1 << 20) {
        self.clock = clock
        self.maximumEntryWeight = maximumEntryWeight
    }

    var isLocal: Bool { true }

    /// Entries held, expired ones included.
    var count: Int { entriesByKey.withLock { $0.count } }

    func get(_ key: CacheKey) async throws -> CacheEntry? {
        gets.add(1, ordering: .relaxed)
        let now = clock.now()
        return entriesByKey.withLock { map in
            guard let entry = map[key] else { return nil }
            if entry.isExpired(at: now) { map[key] = nil; return nil }
            return entry
        }
    }

    func set(_ entry: CacheEntry) async throws {
        sets.add(1, ordering: .relaxed)
        guard entry.weight <= maximumEntryWeight else {
            events.publish(.rejected(entry.key, reason: "too large"))
            throw CacheError(.entryTooLarge, "entry of \(entry.weight) bytes exceeds \(maximumEntryWeight)")
        }
        entriesByKey.withLock { $0[entry.key] = entry }
    }

    func delete(_ key: CacheKey) async throws -> Bool {
        let now = clock.now()
        return entriesByKey.withLock { map in
            guard let entry = map.removeValue(forKey: key) else { return false }
            return !entry.isExpired(at: now)
        }
    }

    func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        let now = clock.now()
        let count = entriesByKey.withLock { map in
            let doomed = map.values.filter { selector.matches($0) }
            for entry in doomed { map[entry.key] = nil }
            return doomed.filter { !$0.isExpired(at: now) }.count
        }
        events.publish(.invalidated(selector, count: count))
        return count
    }

    func statistics() async throws -> StoreStatistics {
        let now = clock.now()
        return entriesByKey.withLock { map in
            let live = map.values.filter { !$0.isExpired(at: now) }
            return StoreStatistics(entries: live.count, storedBytes: live.reduce(0) { $0 + $1.weight }, rawBytes: live.reduce(0) { $0 + $1.rawSize }, corruptEntries: corruptEntries.load(ordering: .relaxed))
        }
    }

    func entries() -> AsyncThrowingStream<CacheEntry, any Error> {
        let now = clock.now()
        let live = entriesByKey.withLock { $0.values.filter { !$0.isExpired(at: now) } }
        return AsyncThrowingStream { continuation in
            for entry in live { continuation.yield(entry) }
            continuation.finish()
        }
    }
}
