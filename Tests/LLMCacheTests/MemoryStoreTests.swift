import Foundation
import LLMCacheConformance
import Testing
@testable import LLMCache

private func key(_ n: Int) -> CacheKey { CacheKey(hashing: Array("memory-store-test:\(n)".utf8)) }

private func entry(
    _ n: Int,
    bytes: Int = 16,
    at time: CacheTimestamp = ManualCacheClock().now(),
    tags: [String] = [],
    namespace: String = "default",
    ttl: Duration? = nil
) -> CacheEntry {
    CacheEntry(
        key: key(n), value: Data(repeating: UInt8(truncatingIfNeeded: n), count: bytes),
        namespace: namespace, tags: tags, createdAt: time, expiresAt: ttl.map { time + $0 }
    )
}

/// A deterministic generator, so a failing random workload can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension MemoryStore {
    /// Entries held, counting expired ones not yet collected (statistics()
    /// collects them first, which would hide whether a write already did).
    fileprivate var residentEntries: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.count } }
    }
}

@Suite struct MemoryStoreConformanceTests {
    @Test(arguments: ConformanceCase.all, [MemoryStore.EvictionPolicy.wTinyLFU, .lru])
    func conformance(check: ConformanceCase, policy: MemoryStore.EvictionPolicy) async throws {
        let clock = ManualCacheClock()
        let store = MemoryStore(
            configuration: .init(maximumBytes: 64 << 20, maximumEntryWeight: 1 << 20, policy: policy),
            clock: clock
        )
        let harness = StoreHarness(store: store, clock: clock, maximumEntryWeight: store.maximumEntryWeight) { duration in
            clock.advance(by: duration)
        }
        try await check.run(harness)
    }
}

@Suite struct MemoryStoreTests {
    @Test func aHotSetSurvivesAOneTimeScanUnderWTinyLFUButNotUnderLRU() throws {
        func hotKeysKept(_ policy: MemoryStore.EvictionPolicy) throws -> Int {
            let store = MemoryStore(configuration: .init(maximumEntries: 1000, policy: policy, shards: 1))
            let hot = 0..<200
            for _ in 0..<20 {
                for n in hot where store.lookup(key(n)) == nil { try store.insert(entry(n)) }
            }
            // A scan five times the cache's size, each key read once and stored.
            for n in 100_000..<105_000 where store.lookup(key(n)) == nil { try store.insert(entry(n)) }
            return hot.filter { store.lookup(key($0)) != nil }.count
        }
        #expect(try hotKeysKept(.wTinyLFU) == 200)
        #expect(try hotKeysKept(.lru) == 0)
    }

    @Test(arguments: [MemoryStore.EvictionPolicy.wTinyLFU, .lru], [1, 4])
    func theByteBudgetHoldsUnderRandomMixedSizes(policy: MemoryStore.EvictionPolicy, shards: Int) async throws {
        let clock = ManualCacheClock()
        let budget = 256 << 10
        let store = MemoryStore(
            configuration: .init(maximumBytes: budget, maximumEntryWeight: 32 << 10, policy: policy, shards: shards),
            clock: clock
        )
        var random = SplitMix64(state: 42)
        var evictionsSeen = false
        for step in 0..<20_000 {
            let n = Int.random(in: 0..<2_000, using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                // Mostly small values, some up to the maximum entry weight.
                let size = Bool.random(using: &random) ? Int.random(in: 0..<512, using: &random) : Int.random(in: 0..<(30 << 10), using: &random)
                let ttl: Duration? = Int.random(in: 0..<4, using: &random) == 0 ? .seconds(Int.random(in: 1..<60, using: &random)) : nil
                try store.insert(entry(n, bytes: size, at: clock.now(), tags: ["t\(n % 7)"], ttl: ttl))
            case 5..<8:
                _ = store.lookup(key(n))
            case 8:
                store.remove(key(n))
            default:
                clock.advance(by: .seconds(1))
            }
            if step % 100 == 0 {
                let stats = store.currentStatistics()
                #expect(stats.storedBytes <= budget, "step \(step): \(stats.storedBytes) bytes stored, budget \(budget)")
                evictionsSeen = evictionsSeen || stats.evictions > 0
            }
        }
        var weights = 0
        var count = 0
        for try await e in store.entries() {
            weights += e.weight
            count += 1
        }
        let stats = store.currentStatistics()
        #expect(stats.storedBytes == weights && stats.entries == count, "accounting drifted from the entries held")
        #expect(evictionsSeen, "the workload never filled the store, so it tested nothing")
    }

    @Test(arguments: [MemoryStore.EvictionPolicy.wTinyLFU, .lru])
    func theEntryCountLimitHolds(policy: MemoryStore.EvictionPolicy) throws {
        let store = MemoryStore(configuration: .init(maximumEntries: 100, policy: policy))
        for n in 0..<1_000 { try store.insert(entry(n)) }
        let stats = store.currentStatistics()
        #expect(stats.entries == 100)
        #expect(stats.evictions == 900)
    }

    @Test func aWriteCollectsExpiredEntriesWithoutAnyRead() throws {
        let clock = ManualCacheClock()
        let store = MemoryStore(configuration: .init(shards: 1), clock: clock)
        for n in 0..<10 { try store.insert(entry(n, bytes: 1000, at: clock.now(), ttl: .seconds(1))) }
        try store.insert(entry(100, at: clock.now()))
        #expect(store.residentEntries == 11)
        clock.advance(by: .seconds(2))
        try store.insert(entry(101, at: clock.now()))
        #expect(store.residentEntries == 2)
        let stats = store.currentStatistics()
        #expect(stats.expirations == 10)
        #expect(stats.storedBytes == entry(100).weight + entry(101).weight)
    }

    @Test func expiredEntriesMakeRoomBeforeLiveOnesAreEvicted() throws {
        let clock = ManualCacheClock()
        let store = MemoryStore(configuration: .init(maximumEntries: 50, shards: 1), clock: clock)
        for n in 0..<50 { try store.insert(entry(n, at: clock.now(), ttl: .seconds(n < 40 ? 1 : 3600))) }
        clock.advance(by: .seconds(2))
        for n in 1000..<1040 { try store.insert(entry(n, at: clock.now())) }
        let stats = store.currentStatistics()
        #expect(stats.evictions == 0)
        #expect(stats.expirations == 40)
        #expect((40..<50).allSatisfy { store.lookup(key($0)) != nil })
    }

    @Test func tagInvalidationRemovesExactlyTheTaggedEntriesAmongMany() async throws {
        let store = MemoryStore()
        for n in 0..<30_000 {
            try store.insert(entry(n, tags: n % 3 == 0 ? ["release-1", "shared"] : ["shared-not"], namespace: "ns\(n % 5)"))
        }
        #expect(try await store.invalidate(.tag("release-1")) == 10_000)
        #expect(store.currentStatistics().entries == 20_000)
        #expect(store.lookup(key(3)) == nil && store.lookup(key(4)) != nil)
        #expect(try await store.invalidate(.tag("shared")) == 0, "a removed entry's other tags still select it")
        #expect(try await store.invalidate(.namespace("ns1")) == 4_000)
    }

    @Test func anOversizedEntryIsRefusedWithTheSizesAndTheSettingToChange() throws {
        let store = MemoryStore(configuration: .init(maximumEntryWeight: 1000))
        #expect(throws: CacheError.self) { try store.insert(entry(1, bytes: 5000)) }
        do {
            try store.insert(entry(1, bytes: 5000))
        } catch let error as CacheError {
            #expect(error.code == .entryTooLarge)
            #expect(error.message.contains("\(entry(1, bytes: 5000).weight)") && error.message.contains("maximumEntryWeight"))
        }
        #expect(store.currentStatistics().entries == 0)
    }

    @Test(.timeLimit(.minutes(1)))
    func evictionsExpirationsRejectionsAndInvalidationsArePublished() async throws {
        let clock = ManualCacheClock()
        let store = MemoryStore(configuration: .init(maximumEntries: 2, maximumEntryWeight: 1000, policy: .lru, shards: 1), clock: clock)
        var events = store.events.subscribe().makeAsyncIterator()
        try store.insert(entry(1, at: clock.now(), ttl: .seconds(1)))
        try store.insert(entry(2, at: clock.now()))
        try store.insert(entry(3, at: clock.now()))
        #expect(await events.next() == .evicted(key(1)))
        try store.insert(entry(4, at: clock.now(), ttl: .seconds(1)))
        #expect(await events.next() == .evicted(key(2)))
        clock.advance(by: .seconds(2))
        #expect(store.lookup(key(4)) == nil)
        #expect(await events.next() == .expired(key(4)))
        #expect(throws: CacheError.self) { try store.insert(entry(5, bytes: 2000)) }
        guard case .rejected(let rejected, _) = await events.next() else {
            Issue.record("no rejected event for an oversized entry")
            return
        }
        #expect(rejected == key(5))
        #expect(try await store.invalidate(.all) == 1)
        #expect(await events.next() == .invalidated(.all, count: 1))
    }

    @Test func aSubscriberThatNeverReadsDoesNotBlockTheStore() throws {
        let store = MemoryStore(configuration: .init(maximumEntries: 10, shards: 1))
        let idle = store.events.subscribe(bufferSize: 4)
        for n in 0..<5_000 { try store.insert(entry(n)) }
        #expect(store.currentStatistics().evictions == 4_990)
        #expect(store.events.droppedEvents > 0)
        _ = idle
    }

    @Test func replacingAnEntryReplacesItsWeightTagsAndExpiry() throws {
        let clock = ManualCacheClock()
        let store = MemoryStore(clock: clock)
        try store.insert(entry(1, bytes: 5000, at: clock.now(), tags: ["a"], ttl: .seconds(1)))
        try store.insert(entry(1, bytes: 10, at: clock.now(), tags: ["b"]))
        #expect(store.currentStatistics().storedBytes == entry(1, bytes: 10, tags: ["b"]).weight)
        clock.advance(by: .seconds(5))
        #expect(store.lookup(key(1)) != nil)
        #expect(store.invalidateNow(.tag("a")) == 0)
        #expect(store.invalidateNow(.tag("b")) == 1)
    }

    /// Entries share their fields between copies until one is changed: a caller
    /// changing the entry a hit returned changes its own copy, never the store's.
    @Test func changingAReturnedEntryLeavesTheStoredOneAlone() throws {
        let store = MemoryStore()
        try store.insert(entry(1, bytes: 8, tags: ["a"]))
        var served = try #require(store.lookup(key(1)))
        served.value = Data("changed".utf8)
        served.tags.append("b")
        served.semantic = SemanticRecord(scope: key(2), text: "t", embeddingModel: "m", vector: [1])
        let again = try #require(store.lookup(key(1)))
        #expect(again.value == Data(repeating: 1, count: 8))
        #expect(again.tags == ["a"])
        #expect(again.semantic == nil)
        #expect(served != again)
        // And the other way round: the store replacing its entry leaves a copy
        // a caller holds as it was.
        try store.insert(entry(1, bytes: 3))
        #expect(again.value.count == 8)
    }

    /// Writes, replacements, removals and lookups at random against a dictionary
    /// of what was last written: every key maps to its latest value, and none
    /// that was removed comes back. Replacing an entry changes its storage under
    /// the hash table's feet, and removals shift the table's probe runs, so this
    /// covers both with thousands of cases.
    @Test(arguments: [MemoryStore.EvictionPolicy.wTinyLFU, .lru])
    func theStoreAgreesWithAModelOfItsLatestWrites(policy: MemoryStore.EvictionPolicy) throws {
        let store = MemoryStore(configuration: .init(policy: policy, shards: 2))
        var model: [Int: UInt8] = [:]
        var random = SplitMix64(state: 7)
        for step in 0..<60_000 {
            let n = Int.random(in: 0..<3_000, using: &random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let version = UInt8(truncatingIfNeeded: step)
                // Sizes vary, so freed entries' memory is soon reused by others.
                let value = Data(repeating: version, count: Int.random(in: 1..<200, using: &random))
                try store.insert(CacheEntry(key: key(n), value: value, createdAt: CacheTimestamp(nanosecondsSinceEpoch: 0)))
                model[n] = version
            case 4..<5:
                #expect(store.remove(key(n)) == (model[n] != nil))
                model[n] = nil
            default:
                let found = store.lookup(key(n))
                #expect(found?.key == (model[n] != nil ? key(n) : nil), "step \(step): key \(n) found \(found != nil), expected \(model[n] != nil)")
                if let found, let version = model[n] {
                    #expect(found.value.allSatisfy { $0 == version }, "step \(step): key \(n) served an older value")
                }
            }
        }
        #expect(store.currentStatistics().entries == model.count)
        for (n, version) in model {
            #expect(store.lookup(key(n))?.value.first == version)
        }
    }

    @Test func manyTasksUseTheStoreConcurrently() async throws {
        let budget = 512 << 10
        let store = MemoryStore(configuration: .init(maximumBytes: budget, maximumEntryWeight: 16 << 10, shards: 4))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var random = SplitMix64(state: UInt64(worker))
                    for _ in 0..<5_000 {
                        let n = Int.random(in: 0..<3_000, using: &random)
                        if let found = store.lookup(key(n)) {
                            #expect(found.value.allSatisfy { $0 == UInt8(truncatingIfNeeded: n) }, "a torn or foreign value")
                        } else {
                            try store.insert(entry(n, bytes: Int.random(in: 0..<4_000, using: &random)))
                        }
                        if n % 97 == 0 { store.invalidateNow(.key(key(n))) }
                    }
                }
            }
            try await group.waitForAll()
        }
        var weights = 0
        var count = 0
        for try await e in store.entries() {
            weights += e.weight
            count += 1
        }
        let stats = store.currentStatistics()
        #expect(stats.storedBytes <= budget)
        #expect(stats.storedBytes == weights && stats.entries == count)
        #expect(stats.evictions > 0)
    }

    @Test(arguments: [
        (MemoryStore.Configuration(), 8),
        (MemoryStore.Configuration(maximumEntries: 1000), 1),
        (MemoryStore.Configuration(maximumEntries: 100_000), 8),
        (MemoryStore.Configuration(maximumBytes: 16 << 20), 2),
        (MemoryStore.Configuration(shards: 3), 2),
    ])
    func shardCountFollowsTheBudgets(configuration: MemoryStore.Configuration, expected: Int) {
        #expect(MemoryStore(configuration: configuration).shardCount == expected)
    }
}
