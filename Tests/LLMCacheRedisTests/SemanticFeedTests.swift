import Foundation
import LLMCache
import LLMCacheEmbeddings
import Testing
@testable import LLMCacheRedis

/// One process of a fleet, in one test: its own client, tiered store,
/// semantic index and follower, over a shared redis-server.
private struct Member {
    let client: RedisClient
    let store: TieredStore
    let semantic: SemanticCache
    let follower: SemanticIndexFollower
    let cache: LLMCache
    let running: Task<Void, Never>

    init(_ server: RedisServer, embedder: any Embedder) throws {
        let client = try RedisClient(configuration: server.configuration())
        let store = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: client))
        let semantic = SemanticCache(embedder: embedder)
        let follower = try SemanticIndexFollower(semantic: semantic, store: store, configuration: .init(blockTime: .milliseconds(500)))
        self.client = client
        self.store = store
        self.semantic = semantic
        self.follower = follower
        // No store deadline: on a loaded machine its timer could fire first and
        // turn the hits these tests count into misses.
        cache = LLMCache(store: store, semantic: semantic, configuration: .init(storeTimeout: nil))
        running = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await store.run() }
                group.addTask { try? await follower.run() }
            }
        }
    }

    func stop() async {
        running.cancel()
        await running.value
        await client.shutdown()
    }
}

@Suite(.serialized) struct SemanticFeedTests {
    /// The real model, loaded once for the suite.
    static let embedder: Result<any Embedder, any Error> = Result { EmbeddingCache(try MiniLMEmbedder()) }

    private func embedder() throws -> any Embedder { try Self.embedder.get() }

    private func chat(_ question: String) throws -> LLMRequest {
        try LLMRequest(.object([
            "model": .string("gpt-4o-mini"),
            "messages": .array([.object(["role": .string("user"), "content": .string(question)])]),
        ]))
    }

    /// Polls `condition` for up to `seconds`: the feed is asynchronous, and a
    /// loaded machine may take a while. Not a timing assertion.
    private func eventually(within seconds: Int = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    private func isSemanticHit(_ response: LLMCache.Response?, _ value: String) -> Bool {
        guard let response, case .semanticHit = response.source else { return false }
        return response.value == Data(value.utf8)
    }

    @Test func anAnswerStoredByOneProcessIsFoundByMeaningInAnotherAndItsInvalidationReachesIt() async throws {
        try await withRedisServer { server in
            let a = try Member(server, embedder: try embedder())
            let b = try Member(server, embedder: try embedder())
            #expect(try await eventually { a.follower.isFollowing && b.follower.isFollowing && a.store.isSubscribed && b.store.isSubscribed })

            let stored = try await a.cache.response(for: try chat("What is the capital city of France?"), options: .init(tags: ["geography"])) { Data("Paris".utf8) }
            #expect(stored.source == .miss)
            #expect(try await eventually { b.semantic.count == 1 }, "the other process never indexed the answer")
            let paraphrase = try chat("whats the capital of France?")
            #expect(isSemanticHit(await b.cache.lookup(paraphrase), "Paris"))
            #expect(a.semantic.count == 1, "a process indexed its own answer twice, or not at all")

            #expect(try await a.cache.invalidate(.tag("geography")) == 1)
            #expect(try await eventually { b.semantic.count == 0 }, "the invalidation never reached the other process's index")
            #expect(await b.cache.lookup(paraphrase) == nil)
            await a.stop()
            await b.stop()
        }
    }

    @Test func aFollowerStartedAfterEntriesExistRebuildsThem() async throws {
        try await withRedisServer { server in
            let a = try Member(server, embedder: try embedder())
            _ = try await a.cache.response(for: try chat("How do I reset my password?")) { Data("Use the reset link.".utf8) }
            _ = try await a.cache.response(for: try chat("What is the boiling point of water at sea level?")) { Data("100 °C".utf8) }

            let b = try Member(server, embedder: try embedder())
            await b.follower.waitUntilReady()
            #expect(b.semantic.count == 2)
            #expect(b.follower.rebuilds == 1)
            #expect(isSemanticHit(await b.cache.lookup(try chat("I forgot my password. How can I reset it?")), "Use the reset link."))
            await a.stop()
            await b.stop()
        }
    }

    @Test func aFollowerResumesAfterRedisRestarts() async throws {
        try await withRedisServer { server in
            let a = try Member(server, embedder: try embedder())
            let b = try Member(server, embedder: try embedder())
            #expect(try await eventually { a.follower.isFollowing && b.follower.isFollowing })
            _ = try await a.cache.response(for: try chat("What is the capital city of France?")) { Data("Paris".utf8) }
            #expect(try await eventually { b.semantic.count == 1 })

            server.kill()
            try await server.start()

            // Writes fail until A's client reconnects; keep trying, then wait for B.
            let question = try chat("How many legs does a spider have?")
            var storedAfterRestart = false
            #expect(try await eventually(within: 90) {
                if !storedAfterRestart {
                    storedAfterRestart = await a.cache.store(Data("Eight.".utf8), for: question) == nil
                    return false
                }
                return isSemanticHit(await b.cache.lookup(try chat("how many legs do spiders have")), "Eight.")
            }, "the follower did not resume after Redis restarted")
            #expect(b.follower.isFollowing)
            await a.stop()
            await b.stop()
        }
    }

    @Test func theFeedRecordsVectorsAddedAndRemovedInTheSameScriptAsTheWrite() async throws {
        try await withRedisServer { server in
            try await withClient(server.configuration()) { client in
                let store = try RedisStore(client: client)
                let now = SystemCacheClock().now()
                let key = CacheKey(hashing: Array("entry".utf8))
                let record = SemanticRecord(scope: CacheKey(hashing: Array("scope".utf8)), text: "a question", embeddingModel: "test", vector: [1, 0])
                var entry = CacheEntry(key: key, value: Data("v".utf8), createdAt: now, semantic: record)
                let plain = CacheEntry(key: CacheKey(hashing: Array("plain".utf8)), value: Data("p".utf8), createdAt: now)

                try await store.set(entry)
                try await store.set(plain)
                entry.semantic = nil
                try await store.set(entry)
                try await store.delete(key)
                _ = try await store.invalidate(.tag("t"))

                let reply = try await client.send("XRANGE", store.semanticFeedKey, "-", "+")
                let messages = (reply.elements ?? []).map { entry in
                    SemanticFeedMessage(id: .zero, fields: SemanticFeedMessage.pairs(entry.elements?[1] ?? .null))
                }
                #expect(messages.map(\.change) == [.add(key), .remove(key), .invalidate(.tag("t"))])
                #expect(messages.allSatisfy { $0.sender == store.instanceID })
            }
        }
    }

    @Test(arguments: [
        InvalidationSelector.key(CacheKey(hashing: Array("k".utf8))),
        .tag("docs"),
        .namespace("tenant a"),
        .createdBefore(CacheTimestamp(nanosecondsSinceEpoch: 1_764_000_000_123_456_789)),
        .pattern(model: try! GlobPattern("gpt-4o*"), namespace: nil),
        .pattern(model: nil, namespace: try! GlobPattern("team-[ab]")),
        .pattern(model: nil, namespace: nil),
        .all,
    ])
    func anInvalidationTravelsWhole(selector: InvalidationSelector) {
        let flat = ["op", "inv", "from", "x"] + SemanticFeedMessage.fields(for: selector)
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) { fields[flat[index]] = flat[index + 1] }
        #expect(SemanticFeedMessage(id: .zero, fields: fields).change == .invalidate(selector))
    }

    @Test func aGapInTheFeedIsDetected() {
        func info(last: String, deleted: String) -> RESPValue {
            .array([
                .bulkString(.init(string: "last-generated-id")), .bulkString(.init(string: last)),
                .bulkString(.init(string: "max-deleted-entry-id")), .bulkString(.init(string: deleted)),
            ])
        }
        let position = StreamID("100-0")!
        #expect(!SemanticIndexFollower.feedMissedMessages(info: info(last: "200-0", deleted: "0-0"), after: position))
        #expect(!SemanticIndexFollower.feedMissedMessages(info: info(last: "200-0", deleted: "100-0"), after: position))
        #expect(SemanticIndexFollower.feedMissedMessages(info: info(last: "200-0", deleted: "150-3"), after: position), "trimmed past the follower")
        #expect(SemanticIndexFollower.feedMissedMessages(info: info(last: "50-0", deleted: "0-0"), after: position), "the stream went back in time")
        #expect(SemanticIndexFollower.feedMissedMessages(info: .error("ERR no such key"), after: position), "the stream is gone")
        #expect(!SemanticIndexFollower.feedMissedMessages(info: .error("ERR no such key"), after: .zero))
    }
}
