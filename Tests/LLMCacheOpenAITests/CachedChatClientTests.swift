import Foundation
import LLMCache
import LLMCacheFakeUpstream
import LLMCacheOpenAI
import Logging
import Testing

/// `CachedChatClient` against the stand-in upstream over real loopback HTTP:
/// every call, streamed or not, takes the cache's one path.
@Suite("CachedChatClient")
struct CachedChatClientTests {
    /// Runs `body` with a client whose cache is a fresh memory store, against
    /// a fresh stand-in upstream.
    static func run(
        cache configuration: LLMCache.Configuration = .init(),
        upstreamDelay: Duration = .zero,
        _ body: (CachedChatClient, FakeUpstream) async throws -> Void
    ) async throws {
        var logger = Logger(label: "cached-chat-client-tests")
        logger.logLevel = .critical
        let (ports, port) = AsyncStream<Int>.makeStream()
        let upstream = FakeUpstream(delay: upstreamDelay, logger: logger) { port.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await upstream.run() }
            var iterator = ports.makeAsyncIterator()
            let listening = await iterator.next()!
            let client = OpenAIClient(configuration: .init(baseURL: "http://127.0.0.1:\(listening)/v1", apiKey: "sk-test"))
            let cached = CachedChatClient(client: client, cache: LLMCache(store: MemoryStore(), configuration: configuration))
            do {
                try await body(cached, upstream)
            } catch {
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
    }

    static func request(_ text: String, temperature: Double? = nil) -> ChatCompletionRequest {
        ChatCompletionRequest(model: "gpt-4o-mini", messages: [.user(text)], temperature: temperature)
    }

    /// The text and number of chunks of a streamed answer.
    static func collect(_ stream: AsyncThrowingStream<ChatCompletionChunk, any Error>) async throws -> (text: String, chunks: Int) {
        var text = ""
        var chunks = 0
        for try await chunk in stream {
            chunks += 1
            text += chunk.choices.first?.delta.content ?? ""
        }
        return (text, chunks)
    }

    @Test("concurrent identical streamed calls share one upstream call; each gets the whole answer")
    func streamedSingleFlight() async throws {
        try await Self.run(upstreamDelay: .milliseconds(300)) { cached, upstream in
            let request = Self.request("everyone streams this")
            let texts = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<5 { group.addTask { try await Self.collect(cached.chatCompletionStream(request)).text } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(upstream.snapshot.chatStreams == 1)
            #expect(Set(texts).count == 1)
            #expect(texts[0].contains("everyone streams this"))
            let statistics = await cached.cache.statistics()
            #expect(statistics.computations == 1 && statistics.sharedComputations == 4)
        }
    }

    @Test("a streamed miss is stored and served to a plain call and replayed to a streamed one")
    func streamedMissThenHits() async throws {
        try await Self.run { cached, upstream in
            let request = Self.request("What is 2+2?")
            let first = try await Self.collect(cached.chatCompletionStream(request))
            let plain = try await cached.chatCompletion(request)
            #expect(plain.source == .hit)
            #expect(plain.value.choices.first?.message.text == first.text)
            let replayed = try await Self.collect(cached.chatCompletionStream(request))
            #expect(replayed.text == first.text)
            #expect(upstream.snapshot.chat == 1)
        }
    }

    @Test("the sampling policy applies to streamed calls: skip-above stores nothing hot")
    func streamedSkipAbove() async throws {
        try await Self.run(cache: .init(sampling: .skip(above: 0.5))) { cached, upstream in
            let hot = Self.request("Write a poem", temperature: 0.9)
            let first = try await Self.collect(cached.chatCompletionStream(hot)).text
            let second = try await Self.collect(cached.chatCompletionStream(hot)).text
            #expect(upstream.snapshot.chatStreams == 2)
            #expect(first != second, "each hot call got its own sample")
            #expect(try await cached.cache.store.statistics().entries == 0)
            #expect(await cached.cache.statistics().bypasses == 2)
        }
    }

    @Test("the sampling policy applies to streamed calls: variants rotate after the first N")
    func streamedVariants() async throws {
        try await Self.run(cache: .init(sampling: .variants(2))) { cached, upstream in
            let sampled = Self.request("Tell me a story", temperature: 0.9)
            var texts: [String] = []
            for _ in 0..<4 { texts.append(try await Self.collect(cached.chatCompletionStream(sampled)).text) }
            #expect(upstream.snapshot.chatStreams == 2)
            #expect(texts[0] != texts[1] && texts[2] == texts[0] && texts[3] == texts[1])
        }
    }

    @Test("a stream that breaks off throws, and is not cached")
    func brokenStream() async throws {
        try await Self.run { cached, upstream in
            let client = OpenAIClient(configuration: .init(baseURL: cached.client.configuration.baseURL, headers: ["X-Fake-No-Done": "1"]))
            let noDone = CachedChatClient(client: client, cache: cached.cache)
            await #expect(throws: OpenAIError.self) {
                _ = try await Self.collect(noDone.chatCompletionStream(Self.request("cut short")))
            }
            #expect(try await cached.cache.store.statistics().entries == 0)
            try await client.shutdown()
            // The next call goes upstream again and, complete this time, is stored.
            _ = try await Self.collect(cached.chatCompletionStream(Self.request("cut short")))
            #expect(upstream.snapshot.chatStreams == 2)
            #expect(try await cached.cache.store.statistics().entries == 1)
        }
    }

    @Test("a connection cut mid-stream throws incompleteStream, and is not cached", arguments: ["X-Fake-Fail-After", "X-Fake-No-Done"])
    func cutStream(header: String) async throws {
        try await Self.run { cached, _ in
            let client = OpenAIClient(configuration: .init(baseURL: cached.client.configuration.baseURL, headers: [header: "3"]))
            let cut = CachedChatClient(client: client, cache: cached.cache)
            await #expect {
                _ = try await Self.collect(cut.chatCompletionStream(Self.request("cut short")))
            } throws: { error in
                (error as? OpenAIError)?.code == .incompleteStream
            }
            #expect(try await cached.cache.store.statistics().entries == 0)
            try await client.shutdown()
        }
    }
}
