import Foundation
import LLMCache
import Testing
@testable import LLMCacheRedis

@Suite struct TieredStoreTests {
    private func tiered(_ server: RedisServer) throws -> TieredStore {
        let redis = try RedisStore(client: RedisClient(configuration: server.configuration()))
        return TieredStore(memory: MemoryStore(), redis: redis)
    }

    /// Polls `condition` for up to two seconds: pub/sub delivery is asynchronous.
    private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func anInvalidationInOneProcessEmptiesTheOthersMemoryTier() async throws {
        try await withRedisServer { server in
            let a = try tiered(server)
            let b = try tiered(server)
            let runA = Task { try await a.run() }
            let runB = Task { try await b.run() }
            #expect(try await eventually { a.isSubscribed && b.isSubscribed })
            let now = SystemCacheClock().now()
            let entry = CacheEntry(key: CacheKey(hashing: Array("shared".utf8)), value: Data("v1".utf8), tags: ["docs"], createdAt: now)
            try await a.set(entry)
            #expect(try await b.get(entry.key)?.value == Data("v1".utf8))
            // A read racing the write's own broadcast is (rightly) not kept; a later one is.
            #expect(try await eventually {
                _ = try await b.get(entry.key)
                return b.memory.lookup(entry.key) != nil
            }, "reads from Redis are never kept in the memory tier")

            var updated = entry
            updated.value = Data("v2".utf8)
            try await a.set(updated)
            #expect(try await eventually { b.memory.lookup(entry.key) == nil }, "the other process kept the old value in memory after a write")
            #expect(try await b.get(entry.key)?.value == Data("v2".utf8))

            #expect(try await a.invalidate(.tag("docs")) == 1)
            #expect(try await eventually { b.memory.lookup(entry.key) == nil }, "the other process kept an invalidated entry in memory")
            #expect(try await b.get(entry.key) == nil)
            runA.cancel()
            runB.cancel()
            _ = try? await runA.value
            _ = try? await runB.value
            #expect(!a.isSubscribed, "a stopped store still trusts its memory tier")
            await a.redis.client.shutdown()
            await b.redis.client.shutdown()
        }
    }
}
