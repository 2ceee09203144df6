import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

/// The semantic tier end to end with the real model.
@Suite struct SemanticCacheTests {
    func chat(_ question: String, system: String = "Answer briefly.") throws -> LLMRequest {
        let body: JSONValue = .object([
            "model": .string("gpt-4o-mini"),
            "temperature": .number(JSONNumber(0)),
            "messages": .array([
                .object(["role": .string("system"), "content": .string(system)]),
                .object(["role": .string("user"), "content": .string(question)]),
            ]),
        ])
        return try LLMRequest(body)
    }

    func makeCache(clock: ManualCacheClock = ManualCacheClock()) throws -> LLMCache {
        let semantic = SemanticCache(embedder: EmbeddingCache(try Fixtures.embedder()))
        return LLMCache(store: MemoryStore(clock: clock), semantic: semantic, clock: clock)
    }

    @Test func aParaphraseIsServedWithItsSimilarity() async throws {
        let cache = try makeCache()
        let first = try await cache.response(for: try chat("How do I reset my password?")) { Data("Use the reset link.".utf8) }
        let second = try await cache.response(for: try chat("I forgot my password. How can I reset it?")) { Data("computed".utf8) }
        guard case .semanticHit(let similarity, let matched) = second.source else {
            Issue.record("expected a semantic hit, got \(second.source)")
            return
        }
        #expect(matched == first.key)
        #expect(similarity >= 0.85 && similarity <= 1)
        #expect(second.value == Data("Use the reset link.".utf8))
        #expect(await cache.statistics().semanticHits == 1)
    }

    @Test(arguments: [
        ("Convert 5 miles to kilometers", "Convert 50 miles to kilometers"),
        ("Is coffee good for your heart?", "Is coffee bad for your heart?"),
        ("What is the population of Canada?", "What is the population of Australia?"),
        ("How do I cancel my subscription?", "How do I not cancel my subscription by accident?"),
    ])
    func aNearIdenticalQuestionThatMeansSomethingElseIsAMiss(cached: String, asked: String) async throws {
        let cache = try makeCache()
        _ = try await cache.response(for: try chat(cached)) { Data("a".utf8) }
        let response = try await cache.response(for: try chat(asked)) { Data("b".utf8) }
        #expect(response.source == .miss)
        #expect(response.value == Data("b".utf8))
    }

    @Test func onlyRequestsInTheSameScopeAreCandidates() async throws {
        let cache = try makeCache()
        _ = try await cache.response(for: try chat("How do I reset my password?", system: "Answer in French.")) { Data("fr".utf8) }
        let other = try await cache.response(for: try chat("I forgot my password. How can I reset it?")) { Data("en".utf8) }
        #expect(other.source == .miss)
        let otherTenant = try await cache.response(for: try chat("I forgot my password. How can I reset it?", system: "Answer in French."), options: .init(namespace: "tenant-b")) { Data("b".utf8) }
        #expect(otherTenant.source == .miss)
    }

    @Test func invalidatedExpiredAndReportedEntriesAreNoLongerMatched() async throws {
        let clock = ManualCacheClock()
        let cache = try makeCache(clock: clock)
        let original = try await cache.response(for: try chat("How do I reset my password?"), options: .init(tags: ["accounts"])) { Data("v1".utf8) }
        #expect(try await cache.invalidate(.tag("accounts")) == 1)
        #expect(cache.semantic?.count == 0)
        #expect(try await cache.response(for: try chat("I forgot my password. How can I reset it?")) { Data("x".utf8) }.source == .miss)

        _ = try await cache.response(for: try chat("Can dogs eat grapes?"), options: .init(ttl: .seconds(60))) { Data("no".utf8) }
        clock.advance(by: .seconds(61))
        #expect(try await cache.response(for: try chat("Are grapes safe for dogs?")) { Data("fresh".utf8) }.source == .miss)

        let stored = try await cache.response(for: try chat("Why is the sky blue?")) { Data("Rayleigh".utf8) }
        let hit = try await cache.response(for: try chat("What makes the sky look blue?")) { Data("x".utf8) }
        guard case .semanticHit(_, let matched) = hit.source else { Issue.record("expected a semantic hit, got \(hit.source)"); return }
        try await cache.reportIncorrectHit(matched: matched)
        #expect(try await cache.response(for: try chat("What makes the sky look blue?"), options: .init(store: false)) { Data("y".utf8) }.source == .miss)
        // The reported entry still answers its own question exactly.
        #expect(try await cache.response(for: try chat("Why is the sky blue?")) { Data() }.source == .hit)
        #expect(original.key != stored.key)
    }

    @Test func perCallControlsTurnTheTierOffOrChangeTheThreshold() async throws {
        let cache = try makeCache()
        _ = try await cache.response(for: try chat("How do I reset my password?")) { Data("a".utf8) }
        let off = try await cache.response(for: try chat("I forgot my password. How can I reset it?"), options: .init(store: false, semantic: .off)) { Data("b".utf8) }
        #expect(off.source == .miss)
        let strict = try await cache.response(for: try chat("I forgot my password. How can I reset it?"), options: .init(store: false, semantic: .threshold(0.999))) { Data("c".utf8) }
        #expect(strict.source == .miss)
    }

    @Test func twoLongPromptsThatAgreeOnWhatTheModelReadsAreNotServedEachOthersAnswers() async throws {
        let cache = try makeCache()
        let report = String(repeating: "The quarterly report covers revenue, costs and the outlook for each region. ", count: 30)
        let table = report + "Summarise it as a table.", poem = report + "Summarise it as a poem."
        let embedder = try Fixtures.embedder()
        #expect(!embedder.embedsWhole(table))
        // The model reads only their common beginning: one vector for both.
        #expect(cosine(try await embedder.embed(table), try await embedder.embed(poem)) > 0.9999)

        let first = try await cache.response(for: try chat(table)) { Data("| region | revenue |".utf8) }
        let second = try await cache.response(for: try chat(poem)) { Data("Revenue rose like the sun".utf8) }
        #expect(first.source == .miss)
        #expect(second.source == .miss, "a long prompt is never answered by meaning")
        #expect(second.value == Data("Revenue rose like the sun".utf8))
        #expect(cache.semantic?.count == 0, "nor indexed")
        #expect(try await cache.response(for: try chat(table)) { Data("x".utf8) }.source == .hit)
    }

    @Test func theIndexIsRebuiltFromTheStore() async throws {
        let store = MemoryStore()
        let first = LLMCache(store: store, semantic: SemanticCache(embedder: try Fixtures.embedder()))
        _ = try await first.response(for: try chat("How do I reset my password?")) { Data("a".utf8) }
        let semantic = SemanticCache(embedder: try Fixtures.embedder())
        #expect(try await semantic.rebuild(from: store) == 1)
        let second = LLMCache(store: store, semantic: semantic)
        let response = try await second.response(for: try chat("I forgot my password. How can I reset it?")) { Data("b".utf8) }
        #expect(response.source != .miss)
    }
}
