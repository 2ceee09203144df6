import Foundation
import LLMCache
import Synchronization
import Testing
@testable import LLMCacheRedis

/// Holds one operation at a hook until the test lets it go: the test knows
/// the operation has reached the hook, does what must happen meanwhile, then
/// releases it. Armed once; later passes go straight through.
private final class Gate: Sendable {
    private let armed = Atomic<Bool>(true)
    private let reached: AsyncStream<Void>.Continuation
    private let reachedStream: AsyncStream<Void>
    private let released: AsyncStream<Void>.Continuation
    private let releasedStream: AsyncStream<Void>

    init() {
        (reachedStream, reached) = AsyncStream<Void>.makeStream()
        (releasedStream, released) = AsyncStream<Void>.makeStream()
    }

    /// The hook: the first call waits for ``release()``.
    @Sendable func pass() async {
        guard armed.exchange(false, ordering: .acquiringAndReleasing) else { return }
        reached.yield()
        for await _ in releasedStream { return }
    }

    func waitUntilReached() async {
        for await _ in reachedStream { return }
    }

    func release() { released.yield() }
}

/// The races a memory tier in front of Redis must not lose: a read or a
/// write whose entry is invalidated elsewhere before it is copied into
/// memory. Each is interleaved deterministically at a hook, against a real
/// Redis.
@Suite struct TieredStoreRaceTests {
    private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<500 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    private func entry(_ name: String) -> CacheEntry {
        CacheEntry(key: CacheKey(hashing: Array(name.utf8)), value: Data("answer to \(name)".utf8), tags: ["docs"], createdAt: SystemCacheClock().now())
    }

    /// A read from Redis that is still on its way when the subscription drops
    /// and comes back: what was invalidated in the gap (its message lost)
    /// must not be copied into memory once the subscription is trusted again.
    @Test func aReadSpanningAResubscriptionDoesNotBringBackAnInvalidatedEntry() async throws {
        try await withRedisServer { server in
            let gate = Gate()
            let store = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: RedisClient(configuration: server.configuration())), logger: .init(label: "test"), hooks: .init(afterRedisRead: gate.pass))
            // Another process's store; invalidating through the Redis store
            // alone publishes nothing, as a message lost in the gap would be.
            let other = try RedisStore(client: RedisClient(configuration: server.configuration()))
            let running = Task { try await store.run() }
            #expect(try await eventually { store.isSubscribed })
            let cached = entry("read race")
            try await other.set(cached)

            let read = Task { try await store.get(cached.key) }
            await gate.waitUntilReached()
            #expect(try await other.delete(cached.key))
            let before = store.state.subscriptions.load(ordering: .acquiring)
            _ = try await other.client.send("CLIENT", "KILL", "TYPE", "pubsub")
            #expect(try await eventually { store.state.subscriptions.load(ordering: .acquiring) > before && store.isSubscribed }, "the subscription did not come back")
            gate.release()
            #expect(try await read.value?.value == cached.value, "the read answers what Redis had when it read")

            #expect(store.memory.lookup(cached.key) == nil, "an entry invalidated while the subscription was down was copied into the memory tier")
            #expect(try await store.get(cached.key) == nil, "an invalidated entry is still served")
            running.cancel()
            _ = try? await running.value
            await store.redis.client.shutdown()
            await other.client.shutdown()
        }
    }

    /// A write whose entry another process invalidates (and says so) before
    /// the writer has copied it into memory.
    @Test func aWriteRacingAnotherProcesssInvalidationIsNotKeptInMemory() async throws {
        try await withRedisServer { server in
            let gate = Gate()
            let writer = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: RedisClient(configuration: server.configuration())), logger: .init(label: "test"), hooks: .init(afterRedisWrite: gate.pass))
            let invalidator = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: RedisClient(configuration: server.configuration())))
            let running = Task { try await writer.run() }
            #expect(try await eventually { writer.isSubscribed })
            let cached = entry("write race")

            let write = Task { try await writer.set(cached) }
            await gate.waitUntilReached()
            let generation = writer.state.generation.load(ordering: .acquiring)
            #expect(try await invalidator.invalidate(.tag("docs")) == 1)
            #expect(try await eventually { writer.state.generation.load(ordering: .acquiring) > generation }, "the invalidation message did not arrive")
            gate.release()
            try await write.value

            #expect(writer.memory.lookup(cached.key) == nil, "an entry invalidated by another process was copied into the writer's memory tier")
            #expect(try await writer.get(cached.key) == nil, "an invalidated entry is still served")
            running.cancel()
            _ = try? await running.value
            await writer.redis.client.shutdown()
            await invalidator.redis.client.shutdown()
        }
    }
}
