import Foundation
import LLMCache
import LLMCacheEmbeddings
import LLMCacheServer
import Testing

/// Semantic matching through the proxy, with the real all-MiniLM-L6-v2 model.
@Suite("Proxy semantic matching")
struct ProxySemanticTests {
    /// The model, loaded once for the suite. When it is not installed this
    /// throws the locator's error naming scripts/install-model.sh, and the tests fail.
    static let embedder: Result<MiniLMEmbedder, any Error> = Result { try MiniLMEmbedder() }

    static func tier() throws -> SemanticCache {
        SemanticCache(embedder: EmbeddingCache(try embedder.get()))
    }

    static func semanticOn(_ configuration: inout ProxyServer.Configuration) {
        configuration.semantic.enabled = true
    }

    static func content(_ answer: Harness.Answer) -> String? {
        answer.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue
    }

    @Test("a paraphrase is a SEMANTIC-HIT that serves the stored answer, with its similarity and the matched key")
    func paraphraseHits() async throws {
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier()) { h in
            let first = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"))
            #expect(first.cache == "MISS")
            let second = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(second.status == 200)
            #expect(second.cache == "SEMANTIC-HIT")
            #expect(Self.content(second) == Self.content(first))
            #expect(second.headers.first(name: "X-Cache-Key") == first.headers.first(name: "X-Cache-Key"))
            let similarity = try #require(second.headers.first(name: "X-Cache-Similarity").flatMap(Double.init))
            #expect(similarity >= 0.85 && similarity < 1)
            #expect(h.upstream.snapshot.chat == 1)

            // Another tenant never sees this tenant's answers, by meaning either.
            let other = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"), key: "sk-test-two")
            #expect(other.cache == "MISS")

            let stats = try await h.admin(.GET, "/admin/stats")
            #expect(stats.json?["semantic_hits"] == .number(JSONNumber(1)))
        }
    }

    @Test("a paraphrase is a SEMANTIC-HIT on the Responses API and on Anthropic Messages, within the same instructions or system prompt")
    func paraphraseHitsOnEverySurface() async throws {
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier()) { h in
            let responses = { (text: String, instructions: String) in
                #"{"model":"gpt-5-mini","instructions":"\#(instructions)","input":[{"role":"user","content":[{"type":"input_text","text":"\#(text)"}]}]}"#
            }
            let first = try await h.send("/v1/responses", body: responses("What is the capital city of France?", "Be brief."))
            #expect(first.cache == "MISS")
            let second = try await h.send("/v1/responses", body: responses("what's the capital of France?", "Be brief."))
            #expect(second.cache == "SEMANTIC-HIT")
            #expect(second.body == first.body)
            #expect(try await h.send("/v1/responses", body: responses("what's the capital of France?", "Answer in French.")).cache == "MISS")

            let anthropic = [("x-api-key", "sk-ant-one"), ("anthropic-version", "2023-06-01")]
            let messages = { (text: String, system: String) in
                #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"\#(system)","messages":[{"role":"user","content":"\#(text)"}]}"#
            }
            let miss = try await h.send("/v1/messages", body: messages("What is the capital city of France?", "Be brief."), key: nil, headers: anthropic)
            #expect(miss.cache == "MISS")
            let hit = try await h.send("/v1/messages", body: messages("what's the capital of France?", "Be brief."), key: nil, headers: anthropic)
            #expect(hit.cache == "SEMANTIC-HIT")
            #expect(hit.body == miss.body)
            #expect(try await h.send("/v1/messages", body: messages("what's the capital of France?", "Answer in French."), key: nil, headers: anthropic).cache == "MISS")
            // The Responses answer is never served to an Anthropic client, or the reverse.
            #expect(h.upstream.snapshot.responses == 2 && h.upstream.snapshot.messages == 2)
        }
    }

    @Test("a look-alike that differs in a number is not served")
    func verifierRejectsDifferentNumber() async throws {
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier()) { h in
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("How many days are there in 2024?"))
            let answer = try await h.send("/v1/chat/completions", body: Harness.chat("How many days are there in 2023?"))
            #expect(answer.cache == "MISS")
            #expect(h.upstream.snapshot.chat == 2)
        }
    }

    @Test("X-Cache-Semantic turns matching off, on, or sets the threshold per request")
    func perRequestControl() async throws {
        // The server does not match by meaning unless a request asks; a
        // request that does not ask is not indexed either.
        try await Harness.run(semantic: try Self.tier()) { h in
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"), headers: [("X-Cache-Semantic", "on")])
            let byDefault = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(byDefault.cache == "MISS")
            let asked = try await h.send("/v1/chat/completions", body: Harness.chat("what is France's capital city?"), headers: [("X-Cache-Semantic", "on")])
            #expect(asked.cache == "SEMANTIC-HIT")
            let strict = try await h.send("/v1/chat/completions", body: Harness.chat("tell me the capital of France"), headers: [("X-Cache-Semantic", "threshold=0.999")])
            #expect(strict.cache == "MISS")
            let off = try await h.send("/v1/chat/completions", body: Harness.chat("France: what is its capital?"), headers: [("X-Cache-Semantic", "off")])
            #expect(off.cache == "MISS")
        }
    }

    @Test("X-Cache-Semantic: off embeds nothing, to match or to index")
    func offEmbedsNothing() async throws {
        let embeddings = EmbeddingCache(try Self.embedder.get())
        try await Harness.run(configure: Self.semanticOn, semantic: SemanticCache(embedder: embeddings)) { h in
            let off = [("X-Cache-Semantic", "off")]
            let first = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"), headers: off)
            #expect(first.cache == "MISS")
            let second = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"), headers: off)
            #expect(second.cache == "MISS")
            #expect(embeddings.counts.hits == 0 && embeddings.counts.misses == 0)
            // Not indexed: asked with matching on, the paraphrase is a miss.
            let on = try await h.send("/v1/chat/completions", body: Harness.chat("what is France's capital city?"))
            #expect(on.cache == "MISS")
            #expect(embeddings.counts.misses == 1)
        }
    }

    @Test("two long prompts alike in their first 256 tokens are each a MISS, and both are exact hits after")
    func longPromptsAreMatchedExactlyOnly() async throws {
        let embeddings = EmbeddingCache(try Self.embedder.get())
        try await Harness.run(configure: Self.semanticOn, semantic: SemanticCache(embedder: embeddings)) { h in
            let document = String(repeating: "The contract renews each year unless either party gives notice in writing. ", count: 40)
            let a = try await h.send("/v1/chat/completions", body: Harness.chat(document + "Is it fair to the buyer?"))
            let b = try await h.send("/v1/chat/completions", body: Harness.chat(document + "Is it fair to the seller?"))
            #expect(a.cache == "MISS" && b.cache == "MISS")
            #expect(h.upstream.snapshot.chat == 2)
            #expect(embeddings.counts.misses == 0, "too long to embed whole: not embedded at all")
            let again = try await h.send("/v1/chat/completions", body: Harness.chat(document + "Is it fair to the seller?"))
            #expect(again.cache == "HIT")
            #expect(Self.content(again) == Self.content(b))
        }
    }

    @Test("a streamed request is served a semantic hit as SSE chunks")
    func streamedSemanticHit() async throws {
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier()) { h in
            let first = try await h.send("/v1/chat/completions", body: Harness.chat("Explain what a hash table is", stream: true))
            #expect(first.cache == "MISS")
            let second = try await h.send("/v1/chat/completions", body: Harness.chat("explain what a hash table is, please", stream: true))
            #expect(second.cache == "SEMANTIC-HIT")
            #expect(second.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
            let events = Harness.events(second.body)
            #expect(events.count > 3)
            #expect(events.last.map { String(decoding: $0, as: UTF8.self) } == "[DONE]")
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    @Test("a reported incorrect hit is not served again by meaning, but still answers its own request")
    func reportedHitStops() async throws {
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier()) { h in
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"))
            let hit = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(hit.cache == "SEMANTIC-HIT")
            let key = try #require(hit.headers.first(name: "X-Cache-Key"))
            let report = try await h.admin(.POST, "/admin/incorrect-hit", body: #"{"key":"\#(key)"}"#)
            #expect(report.status == 200)
            let bad = try await h.admin(.POST, "/admin/incorrect-hit", body: #"{"key":"nope"}"#)
            #expect(bad.status == 400)
            let again = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(again.cache == "MISS")
            let exact = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"))
            #expect(exact.cache == "HIT")
        }
    }

    @Test("the semantic index is rebuilt from the SQLite file when the proxy restarts")
    func rebuiltAfterRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm-cache-proxy-semantic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier(), directory: directory) { h in
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"))
        }
        try await Harness.run(configure: Self.semanticOn, semantic: try Self.tier(), directory: directory) { h in
            let answer = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(answer.cache == "SEMANTIC-HIT")
            #expect(h.upstream.snapshot.chat == 0)
        }
    }

    @Test("past its budget the index drops the oldest vectors: that entry is still a HIT but no longer a SEMANTIC-HIT, and /admin/stats counts it")
    func indexBudget() async throws {
        let texts = ["What is the capital city of France?", "How many legs does a spider have?", "Who wrote the novel War and Peace?"]
        let charge = try #require(texts.map { SemanticCache.charge(textBytes: $0.utf8.count, dimension: 384) }.max())
        // Room for two of the three.
        let budget = charge * 2 + charge / 2
        let semantic = SemanticCache(embedder: EmbeddingCache(try Self.embedder.get()), configuration: .init(maximumIndexBytes: budget))
        try await Harness.run(configure: Self.semanticOn, semantic: semantic) { h in
            for text in texts {
                #expect(try await h.send("/v1/chat/completions", body: Harness.chat(text)).cache == "MISS")
                await semantic.indexingSettled()
            }
            let stats = try await h.admin(.GET, "/admin/stats")
            let figures = stats.json?["semantic"]
            #expect(figures?["index_entries"] == .number(JSONNumber(2)))
            #expect(figures?["index_evictions"] == .number(JSONNumber(1)))
            #expect(figures?["index_budget_bytes"] == .number(JSONNumber(budget)))
            #expect(figures?["index_bytes"] == .number(JSONNumber(semantic.indexStatistics.bytes)))
            #expect(semantic.indexStatistics.bytes <= budget)

            // The first question's vector went (a paraphrase of it is a
            // SEMANTIC-HIT while it is indexed, see paraphraseHits); its entry stayed.
            let paraphrase = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(paraphrase.cache == "MISS")
            let exact = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"))
            #expect(exact.cache == "HIT")
            #expect(h.upstream.snapshot.chat == 4)
        }
    }

    @Test("/admin/stats shows no semantic figures without a semantic tier")
    func statsWithoutTier() async throws {
        try await Harness.run { h in
            let stats = try await h.admin(.GET, "/admin/stats")
            #expect(stats.status == 200)
            #expect(stats.json?["semantic"] == nil)
        }
    }

    @Test("without a semantic tier the admin API says there are no semantic hits to report")
    func reportWithoutTier() async throws {
        try await Harness.run { h in
            let report = try await h.admin(.POST, "/admin/incorrect-hit", body: #"{"key":"\#(String(repeating: "a", count: 64))"}"#)
            #expect(report.status == 409)
        }
    }
}
