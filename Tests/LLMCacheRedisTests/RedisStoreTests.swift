import Foundation
import LLMCache
import LLMCacheConformance
import NIOCore
import Synchronization
import Testing
@testable import LLMCacheRedis

private func makeStore(_ server: RedisServer, prefix: String = "llmcache:", configure: (inout RedisClient.Configuration) -> Void = { _ in }) throws -> RedisStore {
    var configuration = server.configuration()
    configure(&configuration)
    return try RedisStore(client: RedisClient(configuration: configuration), configuration: .init(keyPrefix: prefix, maximumEntryWeight: 1 << 20))
}

private func entry(_ name: String, namespace: String = "default", tags: [String] = [], ttl: Duration? = nil) -> CacheEntry {
    let now = SystemCacheClock().now()
    return CacheEntry(key: CacheKey(hashing: Array(name.utf8)), value: Data("value of \(name)".utf8), namespace: namespace, model: "gpt-4o", tags: tags, createdAt: now, expiresAt: ttl.map { now + $0 })
}

@Suite struct RedisStoreTests {
    @Test(arguments: ConformanceCase.all)
    func conformsToTheStoreContract(_ check: ConformanceCase) async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            try await check.run(StoreHarness(store: store, clock: SystemCacheClock(), maximumEntryWeight: 1 << 20) { duration in
                // Redis expires on its own clock: time has to really pass.
                try await Task.sleep(for: duration)
            })
            await store.client.shutdown()
        }
    }

    @Test func storesWithDifferentPrefixesDoNotSeeEachOther() async throws {
        try await withRedisServer { server in
            let a = try makeStore(server, prefix: "app-a:")
            let b = try makeStore(server, prefix: "app-b:")
            try await a.client.send("SET", "unrelated", "keep me")
            let shared = entry("same key", namespace: "team", tags: ["t"])
            try await a.set(shared)
            try await b.set(entry("only in b", namespace: "team", tags: ["t"]))
            #expect(try await b.get(shared.key) == nil, "a store read another prefix's entry")
            #expect(try await a.invalidate(.tag("t")) == 1)
            #expect(try await a.invalidate(.all) == 0)
            try await a.set(shared)
            #expect(try await a.invalidate(.all) == 1)
            #expect(try await b.count() == 1, "invalidate(.all) reached into another prefix")
            #expect(try await a.client.send("GET", "unrelated").string == "keep me", "invalidate(.all) removed a key the store does not own")
            await a.client.shutdown()
            await b.client.shutdown()
        }
    }

    @Test func removingANamespaceLeavesOtherNamespacesKeysUntouched() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            for i in 0..<300 { try await store.set(entry("a\(i)", namespace: "team-a", tags: ["shared"])) }
            for i in 0..<300 { try await store.set(entry("b\(i)", namespace: "team-b", tags: ["shared"])) }
            let before = try await store.client.send("SCARD", "llmcache:ns:team-b").int
            #expect(try await store.invalidate(.namespace("team-a")) == 300)
            #expect(try await store.client.send("SCARD", "llmcache:ns:team-b").int == before)
            #expect(try await store.client.send("EXISTS", "llmcache:ns:team-a").int == 0)
            #expect(try await store.count() == 300)
            #expect(try await store.invalidate(.tag("shared")) == 300)
            await store.client.shutdown()
        }
    }

    @Test func invalidatingATagOf20000EntriesRunsInBatches() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<50 {
                    group.addTask {
                        for i in stride(from: worker, to: 20_000, by: 50) {
                            try await store.set(entry("bulk-\(i)", tags: ["release-7"]))
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await store.set(entry("untagged"))
            try await store.client.send("CONFIG", "RESETSTAT")
            #expect(try await store.invalidate(.tag("release-7")) == 20_000)
            let info = try await store.client.send("INFO", "commandstats").string ?? ""
            let calls = info.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_evalsha:") }
                .flatMap { $0.split(separator: "=").dropFirst().first?.split(separator: ",").first }
                .flatMap { Int($0) } ?? 0
            #expect(calls >= 20_000 / store.configuration.batchSize, "\(calls) script calls: the invalidation was not split into batches")
            let statistics = try await store.statistics()
            #expect(statistics.entries == 1)
            #expect(try await store.client.send("EXISTS", "llmcache:tag:release-7").int == 0)
            await store.client.shutdown()
        }
    }

    @Test func countersLeaveOutEntriesRedisHasExpired() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            try await store.set(entry("short", tags: ["x"], ttl: .milliseconds(300)))
            try await store.set(entry("kept"))
            try await Task.sleep(for: .milliseconds(600))
            let statistics = try await store.statistics()
            #expect(statistics.entries == 1)
            #expect(statistics.storedBytes == entry("kept").weight)
            #expect(statistics.expirations == 1)
            #expect(try await store.client.send("EXISTS", "llmcache:tag:x").int == 0, "the expired entry's tag index was not cleaned")
            await store.client.shutdown()
        }
    }

    @Test func recordsFromANewerVersionAreRefusedAndUnknownFieldsIgnored() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            let stored = entry("versioned")
            try await store.set(stored)
            try await store.client.send("HSET", store.entryKey(stored.key), "future-field", "ignored")
            #expect(try await store.get(stored.key)?.value == stored.value)
            try await store.client.send("HSET", store.entryKey(stored.key), "ver", "2")
            await #expect { try await store.get(stored.key) } throws: { ($0 as? CacheError)?.code == .unsupportedVersion }
            await store.client.shutdown()
        }
    }

    @Test func theStoreFailsPromptlyWhileRedisIsDownAndResumesWhenItReturns() async throws {
        let server = try RedisServer()
        try await server.start()
        defer { server.stop() }
        let store = try makeStore(server) { configuration in
            configuration.timeouts.command = .milliseconds(300)
            configuration.timeouts.connect = .milliseconds(300)
            configuration.circuitBreaker = .init(failureThreshold: 3, coolDown: .milliseconds(100), maximumCoolDown: .milliseconds(400))
        }
        let cache = LLMCache(store: store)
        let remember = cache.memoize("square", ttl: .seconds(60)) { (x: Int) in x * x }
        #expect(try await remember(7) == 49)
        server.kill()
        for _ in 0..<10 {
            await #expect(throws: CacheError.self) { try await store.get(entry("any").key) }
        }
        // The facade fails open: the function still answers while Redis is down.
        #expect(try await remember(8) == 64)
        try await server.start()
        var resumed = false
        for _ in 0..<200 where !resumed {
            resumed = (try? await store.set(entry("after restart"))) != nil
            if !resumed { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(resumed, "the store did not resume after Redis came back")
        #expect(try await store.get(entry("after restart").key) != nil)
        await store.client.shutdown()
    }

    @Test func aMemoizedResultComputedThroughOneConnectionIsReadThroughAnother() async throws {
        try await withRedisServer { server in
            // No store deadline: on a loaded machine its timer could fire first
            // and turn the hit this test counts into a recomputation.
            let first = LLMCache(store: try makeStore(server), configuration: .init(storeTimeout: nil))
            let second = LLMCache(store: try makeStore(server), configuration: .init(storeTimeout: nil))
            let runs = Atomic<Int>(0)
            let compute: @Sendable (String) async throws -> String = { city in
                runs.add(1, ordering: .relaxed)
                return "forecast for \(city)"
            }
            let viaFirst = first.memoize("forecast", ttl: .seconds(60), compute)
            let viaSecond = second.memoize("forecast", ttl: .seconds(60), compute)
            #expect(try await viaFirst("Oslo") == "forecast for Oslo")
            #expect(try await viaSecond("Oslo") == "forecast for Oslo")
            #expect(runs.load(ordering: .relaxed) == 1, "the second process recomputed instead of reading the shared result")
            #expect(await second.statistics().hits == 1)
            await (first.store as! RedisStore).client.shutdown()
            await (second.store as! RedisStore).client.shutdown()
        }
    }
}

@Suite struct RedisStoreChecksumTests {
    @Test func aValueDamagedInRedisIsAMissIsDeletedAndIsCounted() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            let damaged = entry("damaged")
            try await store.set(damaged)
            try await store.set(entry("intact"))
            var bytes = [UInt8](damaged.value)
            bytes[bytes.count / 2] ^= 0x20
            try await store.client.send("HSET", store.entryKey(damaged.key), "v", bytes)

            #expect(try await store.get(damaged.key) == nil, "a damaged value was served")
            #expect(try await store.client.send("EXISTS", store.entryKey(damaged.key)).int == 0, "the damaged entry was not deleted")
            let statistics = try await store.statistics()
            #expect(statistics.corruptEntries == 1)
            #expect(statistics.entries == 1, "the delete did not go through the script's counters")
            #expect(try await store.get(entry("intact").key) != nil)
            await store.client.shutdown()
        }
    }

    @Test func aValueCopiedFromAnotherEntryIsCaughtBecauseTheKeyIsChecksummed() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            let a = entry("a"), b = entry("b")
            try await store.set(a)
            try await store.set(b)
            let value = try await store.client.send("HGET", store.entryKey(b.key), "v")
            let checksum = try await store.client.send("HGET", store.entryKey(b.key), "k")
            try await store.client.send("HSET", store.entryKey(a.key), "v", try #require(value.bytes), "k", try #require(checksum.string))
            #expect(try await store.get(a.key) == nil)
            #expect(try await store.get(b.key) == b)
            #expect(try await store.statistics().corruptEntries == 1)
            await store.client.shutdown()
        }
    }

    @Test func entriesWrittenWithoutAChecksumAreStillServed() async throws {
        try await withRedisServer { server in
            let store = try makeStore(server)
            let old = entry("written by an older release")
            try await store.set(old)
            // What an entry of the release before checksums holds: no `k` field.
            try await store.client.send("HDEL", store.entryKey(old.key), "k")
            #expect(try await store.get(old.key) == old)
            var exported: [CacheEntry] = []
            for try await listed in store.entries() { exported.append(listed) }
            #expect(exported == [old])
            #expect(try await store.statistics().corruptEntries == 0)
            await store.client.shutdown()
        }
    }
}
