import Foundation
import LLMCache
import Testing
@testable import LLMCacheRedis

/// The store against a Redis that has reached its `maxmemory` and may not
/// evict (`noeviction`): writes must fail, whole and loudly, and nothing
/// already stored may suffer.
@Suite struct RedisStoreMemoryLimitTests {
    /// An entry of 8 KiB of random bytes, which compression cannot shrink.
    private func largeEntry(_ index: Int) -> CacheEntry {
        var generator = SystemRandomNumberGenerator()
        let value = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let now = SystemCacheClock().now()
        return CacheEntry(key: CacheKey(hashing: Array("large \(index)".utf8)), value: value, namespace: "default", model: "gpt-4o", tags: ["bulk"], createdAt: now, expiresAt: now + .seconds(3600))
    }

    private func usedMemory(_ client: RedisClient) async throws -> Int {
        let info = try await client.send("INFO", "memory").string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
        return try #require(line.flatMap { Int($0.dropFirst("used_memory:".count)) })
    }

    @Test func aFullRedisRefusesWritesWholeAndKeepsWhatItHad() async throws {
        let limit = 2 << 20
        try await withRedisServer(arguments: ["--maxmemory", "\(limit)", "--maxmemory-policy", "noeviction"]) { server in
            let store = try RedisStore(client: RedisClient(configuration: server.configuration()), configuration: .init(maximumEntryWeight: 1 << 20))
            var stored: [CacheEntry] = []
            var refusals: [CacheError] = []
            // 1,000 entries of 8 KiB would take four times the limit: the
            // writes go on after the first refusal, which must not be the last.
            for index in 0..<1000 {
                let entry = largeEntry(index)
                do {
                    try await store.set(entry)
                    #expect(refusals.isEmpty, "entry \(index) was stored after Redis had refused one: memory was freed by nothing")
                    stored.append(entry)
                } catch let error as CacheError {
                    refusals.append(error)
                }
            }
            let used = try await usedMemory(store.client)
            #expect(!stored.isEmpty, "not one entry fitted into 2 MB")
            #expect(refusals.count == 1000 - stored.count)
            #expect(refusals.allSatisfy { $0.code == .storeFull }, "\(refusals.first.map(String.init(describing:)) ?? "")")
            #expect(refusals.first?.message.contains("maxmemory") == true)
            // Redis admits a command while under the limit, so one entry may go past it.
            #expect(used < limit + 256 << 10, "Redis holds \(used) bytes with a limit of \(limit): writes went past maxmemory")

            // What was stored before the limit is intact, and counted as it is.
            for entry in stored {
                #expect(try await store.get(entry.key)?.value == entry.value)
            }
            #expect(try await store.count() == stored.count, "a refused write changed the store's counters")
            #expect(try await store.statistics().entries == stored.count)

            // Deletes free memory, so they work at the limit; then writes work again.
            #expect(try await store.delete(stored[0].key))
            #expect(try await store.invalidate(.tag("bulk")) == stored.count - 1)
            #expect(try await store.count() == 0)
            let after = largeEntry(5000)
            try await store.set(after)
            #expect(try await store.get(after.key)?.value == after.value)
            await store.client.shutdown()
        }
    }
}
