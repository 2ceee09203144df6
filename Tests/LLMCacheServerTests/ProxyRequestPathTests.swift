import Foundation
import LLMCache
import LLMCacheServer
import Synchronization
import Testing

/// The proxy takes the core's one path: its sampling policy, its single
/// embedding per request, the same outcome in `X-Cache` as in the metrics.
@Suite("Proxy: one request path through the core")
struct ProxyRequestPathTests {
    static func content(_ answer: Harness.Answer) -> String? {
        answer.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue
    }

    /// The text of a streamed answer, from its chunks.
    static func streamedContent(_ answer: Harness.Answer) -> String {
        Harness.events(answer.body).compactMap { event -> String? in
            guard let chunk = try? JSONValue(parsing: event) else { return nil }
            return chunk["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue
        }.joined()
    }

    static func sampling(_ policy: SamplingPolicy) -> LLMCache.Configuration {
        LLMCache.Configuration(sampling: policy)
    }

    @Test("variants:2: four sampled requests cost two upstream calls; the 3rd and 4th are hits rotating through both answers", arguments: [false, true])
    func variants(streaming: Bool) async throws {
        try await Harness.run(cache: Self.sampling(.variants(2))) { h in
            let body = Harness.chat("Tell me a story", stream: streaming, extra: #","temperature":0.9"#)
            var answers: [Harness.Answer] = []
            for _ in 0..<4 { answers.append(try await h.send("/v1/chat/completions", body: body)) }
            #expect(answers.map(\.status) == [200, 200, 200, 200])
            #expect(answers.map(\.cache) == ["MISS", "MISS", "HIT", "HIT"])
            #expect(h.upstream.snapshot.chat == 2)
            let texts = answers.map { streaming ? Self.streamedContent($0) : (Self.content($0) ?? "") }
            #expect(texts[0] != texts[1], "a sampling upstream answers differently each time")
            #expect(texts[2] == texts[0] && texts[3] == texts[1])
            let keys = answers.map { $0.headers.first(name: "X-Cache-Key") }
            #expect(keys[2] == keys[0] && keys[3] == keys[1] && keys[0] != keys[1])
        }
    }

    @Test("skip-above:0.5: a hot request is BYPASS every time and stores nothing; a cool one is MISS then HIT", arguments: [false, true])
    func skipAbove(streaming: Bool) async throws {
        try await Harness.run(cache: Self.sampling(.skip(above: 0.5))) { h in
            let hot = Harness.chat("Write a poem", stream: streaming, extra: #","temperature":0.9"#)
            for _ in 0..<3 {
                let answer = try await h.send("/v1/chat/completions", body: hot)
                #expect(answer.status == 200)
                #expect(answer.cache == "BYPASS")
            }
            #expect(h.upstream.snapshot.chat == 3)
            let stats = try await h.admin(.GET, "/admin/stats")
            #expect(stats.json?["bypasses"]?.numberValue?.intValue == 3)
            #expect(stats.json?["misses"]?.numberValue?.intValue == 0)
            #expect(stats.json?["store"]?["entries"]?.numberValue?.intValue == 0, "nothing hot is stored")

            let cool = Harness.chat("Write a poem", stream: streaming, extra: #","temperature":0.2"#)
            #expect(try await h.send("/v1/chat/completions", body: cool).cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: cool).cache == "HIT")
            #expect(h.upstream.snapshot.chat == 4)

            let metrics = try await h.send("/metrics", method: .GET, key: nil).text
            #expect(metrics.contains(#"llm_cache_proxy_requests_total{route="chat_completions",cache="bypass"} 3"#))
        }
    }

    @Test("one request embeds once: the semantic lookup's vector indexes the answer")
    func oneEmbeddingPerRequest() async throws {
        let embeds = Counter()
        var configuration = SemanticCache.Configuration(threshold: 0.8, verifiers: [])
        configuration.approximateSearchThreshold = .max
        let semantic = SemanticCache(embeddingModel: "test/counting", dimension: 2, configuration: configuration) { text in
            embeds.next()
            return text.contains("password") ? [1, 0] : [0, 1]
        }
        try await Harness.run(configure: { $0.semantic.enabled = true }, semantic: semantic) { (h: Harness) async throws in
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("How do I reset my password?")).cache == "MISS")
            #expect(embeds.count == 1, "the lookup's vector indexed the answer; it was not embedded again to store it")
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("How do I reset my password?", stream: true)).cache == "HIT")
            #expect(embeds.count == 1, "an exact hit embeds nothing")
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("password reset, how?")).cache == "SEMANTIC-HIT")
            #expect(embeds.count == 2)
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("Close my account", stream: true)).cache == "MISS")
            #expect(embeds.count == 3, "a streamed miss embeds once too")
        }
    }

    @Test("concurrent identical streamed misses make one upstream call; the others get the answer replayed")
    func streamedSingleFlight() async throws {
        try await Harness.run(upstreamDelay: .milliseconds(300)) { h in
            let body = Harness.chat("everyone streams this", stream: true)
            let answers = try await withThrowingTaskGroup(of: Harness.Answer.self) { group in
                for _ in 0..<6 { group.addTask { try await h.send("/v1/chat/completions", body: body) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == 200 && $0.headers.first(name: "Content-Type") == "text/event-stream" })
            let texts = Set(answers.map(Self.streamedContent))
            #expect(texts.count == 1 && texts.first?.isEmpty == false)
            #expect(h.upstream.snapshot.chat == 1)
            #expect(try await h.send("/v1/chat/completions", body: body).cache == "HIT")
        }
    }
}

/// A shareable counter for closures that escape into tasks.
final class Counter: Sendable {
    private let value = Mutex(0)
    @discardableResult
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
    var count: Int { value.withLock { $0 } }
}
