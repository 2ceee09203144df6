import Foundation
import Synchronization
import Testing

@testable import LLMCache

/// The one path every answer takes: the sampling policy applied once, the
/// request embedded once, and the same rules for answers produced elsewhere
/// (`lookup` and `store`).
@Suite struct RequestPathTests {
    let clock = ManualCacheClock()

    func makeCache(semantic: SemanticCache? = nil, _ configure: (inout LLMCache.Configuration) -> Void = { _ in }) -> (LLMCache, DictionaryStore) {
        var configuration = LLMCache.Configuration()
        configure(&configuration)
        let store = DictionaryStore(clock: clock)
        return (LLMCache(store: store, semantic: semantic, configuration: configuration, clock: clock), store)
    }

    /// A semantic tier whose embedder counts its calls. Texts are placed on
    /// axes by their first word, so "reset my password" and "reset the
    /// password" are near-identical and other first words are orthogonal.
    /// Texts of more than `window` characters count as longer than the
    /// model reads; `fails` makes every embedding throw.
    func countingSemantic(_ calls: Counter, window: Int = .max, fails: Bool = false, timeout: Duration? = .seconds(2)) -> SemanticCache {
        var configuration = SemanticCache.Configuration(threshold: 0.8, verifiers: [])
        configuration.approximateSearchThreshold = .max
        configuration.embeddingTimeout = timeout
        return SemanticCache(embeddingModel: "test/counting", dimension: 4, configuration: configuration, embedsWhole: { $0.count <= window }) { text in
            calls.next()
            if fails { throw CacheError(.backendUnavailable, "the embedder is down") }
            switch text.split(separator: " ").first {
            case "reset": return text.contains("my") ? [1, 0, 0, 0] : [0.96, 0.28, 0, 0]
            case "close": return [0, 0, 1, 0]
            default: return [0, 0, 0, 1]
            }
        }
    }

    @Test func aSemanticMissEmbedsTheRequestOnceForLookupAndIndex() async throws {
        let embeds = Counter()
        let (cache, _) = makeCache(semantic: countingSemantic(embeds))
        let miss = try await cache.response(for: try request("reset my password")) { Data("Use the reset link.".utf8) }
        #expect(miss.source == .miss)
        #expect(embeds.count == 1, "one embedding serves the semantic lookup and the index entry")

        let exact = try await cache.response(for: try request("reset my password")) { Data("again".utf8) }
        #expect(exact.source == .hit)
        #expect(embeds.count == 1, "an exact hit embeds nothing")

        let paraphrase = try await cache.response(for: try request("reset the password")) { Data("recomputed".utf8) }
        guard case .semanticHit = paraphrase.source else {
            Issue.record("expected a semantic hit, got \(paraphrase.source)")
            return
        }
        #expect(paraphrase.value == Data("Use the reset link.".utf8))
        #expect(embeds.count == 2)
    }

    @Test func aRefreshStillIndexesItsAnswerAndNothingIsEmbeddedForACallThatTurnsMatchingOff() async throws {
        let embeds = Counter()
        let (cache, store) = makeCache(semantic: countingSemantic(embeds))
        _ = try await cache.response(for: try request("reset my password"), options: .init(lookup: false)) { Data("v1".utf8) }
        #expect(embeds.count == 1, "a refresh has nothing to look up, but its answer is indexed")
        #expect(try await store.get(cache.key(for: try request("reset my password")))?.semantic != nil)

        let off = LLMCache.Options(semantic: .off)
        let miss = try await cache.response(for: try request("close my account"), options: off) { Data("closed".utf8) }
        #expect(miss.source == .miss)
        #expect(await cache.lookup(try request("close the account"), options: off) == nil)
        #expect(await cache.store(Data("x".utf8), for: try request("close it all"), options: off) == nil)
        #expect(embeds.count == 1, "a call with semantic matching off embeds nothing, for lookup or for the index")
        #expect(try await store.get(cache.key(for: try request("close my account")))?.semantic == nil)
        #expect(store.count == 3)

        // Its answer is not indexed: a paraphrase asked with matching on misses.
        let paraphrase = try await cache.response(for: try request("close the account")) { Data("fresh".utf8) }
        #expect(paraphrase.source == .miss)
        // No lookup and no store: nothing to embed for.
        _ = try await cache.response(for: try request("reset it"), options: .init(lookup: false, store: false)) { Data("x".utf8) }
        #expect(embeds.count == 2)
    }

    @Test func aTextLongerThanTheModelReadsIsNeitherEmbeddedNorMatched() async throws {
        let embeds = Counter()
        let (cache, store) = makeCache(semantic: countingSemantic(embeds, window: 40))
        // Two texts the stand-in model would place on one axis, alike in all
        // it would read and different after it.
        let head = "reset my password " + String(repeating: "and keep the old settings ", count: 3)
        let first = try await cache.response(for: try request(head + "by mail")) { Data("mailed".utf8) }
        let second = try await cache.response(for: try request(head + "by phone")) { Data("phoned".utf8) }
        #expect(first.source == .miss && second.source == .miss, "a long text is never served another's answer by meaning")
        #expect(second.value == Data("phoned".utf8))
        #expect(embeds.count == 0)
        #expect(cache.semantic?.count == 0)
        #expect(store.count == 2)
        // Exact repeats are still hits.
        #expect(try await cache.response(for: try request(head + "by mail")) { Data("again".utf8) }.source == .hit)
    }

    @Test func aFailingEmbedderLeavesTheRequestToExactMatchingAndIsNoStoreError() async throws {
        let embeds = Counter()
        let (cache, store) = makeCache(semantic: countingSemantic(embeds, fails: true))
        let miss = try await cache.response(for: try request("reset my password")) { Data("Use the reset link.".utf8) }
        #expect(miss.source == .miss && miss.storeError == nil)
        #expect(embeds.count == 1)
        #expect(store.count == 1)
        #expect(try await cache.response(for: try request("reset my password")) { Data("again".utf8) }.source == .hit)
        #expect(await cache.statistics().storeErrors == 0, "the embedder is not the store")
    }

    @Test func aHungEmbedderTimesOutIntoAMissThatIsStillStored() async throws {
        let embeds = Counter()
        var configuration = SemanticCache.Configuration(threshold: 0.8, verifiers: [])
        configuration.embeddingTimeout = .milliseconds(50)
        let semantic = SemanticCache(embeddingModel: "test/hung", dimension: 4, configuration: configuration) { text in
            embeds.next()
            // A first text is embedded at once; any later one never answers.
            if embeds.count > 1 { try await Task.sleep(for: .seconds(3600)) }
            return [1, 0, 0, 0]
        }
        let (cache, store) = makeCache(semantic: semantic)
        _ = try await cache.response(for: try request("reset my password")) { Data("v1".utf8) }
        let miss = try await cache.response(for: try request("reset the password")) { Data("v2".utf8) }
        #expect(miss.source == .miss)
        #expect(miss.value == Data("v2".utf8))
        #expect(store.count == 2)
    }

    @Test func aMissInAScopeWithNothingToMatchIsStoredWithItsVector() async throws {
        let embeds = Counter()
        let (cache, store) = makeCache(semantic: countingSemantic(embeds))
        // The scope is empty, so the vector is computed beside the answer;
        // the answer is stored with it all the same.
        let miss = try await cache.response(for: try request("reset my password")) { Data("Use the reset link.".utf8) }
        #expect(miss.source == .miss)
        #expect(embeds.count == 1)
        let stored = try #require(try await store.get(miss.key))
        #expect(stored.semantic?.vector == [1, 0, 0, 0])
        // And indexed: its paraphrase is served by meaning.
        let paraphrase = try await cache.response(for: try request("reset the password")) { Data("recomputed".utf8) }
        guard case .semanticHit = paraphrase.source else {
            Issue.record("expected a semantic hit, got \(paraphrase.source)")
            return
        }
    }

    @Test func storeUnderSkipAboveStoresNothingHot() async throws {
        let (cache, store) = makeCache { $0.sampling = .skip(above: 0.5) }
        let hot = try request("write a poem", temperature: 0.9)
        let refused = await cache.store(Data("a poem".utf8), for: hot)
        #expect(refused?.code == .bypassed)
        #expect(store.count == 0)
        #expect(await cache.lookup(hot) == nil)
        #expect(await cache.statistics().bypasses == 1, "a lookup the policy skips is a bypass, not a miss")
        #expect(await cache.statistics().misses == 0)

        let cold = try request("write a poem", temperature: 0.2)
        #expect(await cache.store(Data("a poem".utf8), for: cold) == nil)
        #expect(await cache.lookup(cold)?.value == Data("a poem".utf8))
    }

    @Test func lookupAndStoreUnderVariantsFillAndRotateThroughTheVariants() async throws {
        let (cache, store) = makeCache { $0.sampling = .variants(2) }
        let sampled = try request("tell a story", temperature: 0.9)
        var served: [String] = []
        for n in 1...6 {
            if let hit = await cache.lookup(sampled) {
                served.append(String(decoding: hit.value, as: UTF8.self))
            } else {
                #expect(await cache.store(Data("story \(n)".utf8), for: sampled) == nil)
            }
        }
        #expect(store.count == 2)
        #expect(served == ["story 1", "story 2", "story 1", "story 2"])
    }

    @Test func variantsOfOneQuestionAreOneSemanticCandidateNotTwoRivals() async throws {
        let embeds = Counter()
        let (cache, _) = makeCache(semantic: countingSemantic(embeds)) { $0.sampling = .variants(2) }
        let counter = Counter()
        for _ in 0..<2 {
            _ = try await cache.response(for: try request("reset my password", temperature: 0.9)) { Data("answer \(counter.next())".utf8) }
        }
        #expect(counter.count == 2)
        let paraphrase = try await cache.response(for: try request("reset the password", temperature: 0.9)) { Data("fresh".utf8) }
        guard case .semanticHit = paraphrase.source else {
            Issue.record("two stored variants made the paraphrase ambiguous: \(paraphrase.source)")
            return
        }
    }

    @Test func theComputationLearnsTheKeyAndSourceOfItsCall() async throws {
        let (cache, _) = makeCache { $0.sampling = .variants(2) }
        let seen = Mutex<[LLMCache.Computation]>([])
        let sampled = try request("tell a story", temperature: 0.9)
        let first = try await cache.response(for: sampled) { computation in
            seen.withLock { $0.append(computation) }
            return Data("a".utf8)
        }
        let second = try await cache.response(for: sampled) { computation in
            seen.withLock { $0.append(computation) }
            return Data("b".utf8)
        }
        let bypass = try await cache.response(for: sampled, options: .init(lookup: false, store: false)) { computation in
            seen.withLock { $0.append(computation) }
            return Data("c".utf8)
        }
        let computations = seen.withLock { $0 }
        try #require(computations.count == 3)
        #expect(computations[0].key == first.key && computations[1].key == second.key)
        #expect(first.key != second.key, "each variant has its own key")
        #expect(first.key == cache.key(for: sampled).variant(0))
        #expect(computations[0].source == .miss && computations[0].stores)
        #expect(computations[2].source == .bypass && !computations[2].stores)
        #expect(bypass.source == .bypass)
    }

    @Test func callsThatSkipTheCacheOnPurposeEachGetTheirOwnAnswer() async throws {
        let (cache, _) = makeCache()
        let model = ModelStub()
        let options = LLMCache.Options(lookup: false, store: false)
        async let a = cache.response(for: try request(), options: options) { try await model.answer("a", delay: .milliseconds(50)) }
        async let b = cache.response(for: try request(), options: options) { try await model.answer("b", delay: .milliseconds(50)) }
        let (first, second) = try await (a, b)
        #expect(model.count == 2)
        #expect(first.source == .bypass && second.source == .bypass)
        let statistics = await cache.statistics()
        #expect(statistics.bypasses == 2 && statistics.misses == 0)
    }

    @Test func everyCallIsCountedAsExactlyOneOutcome() async throws {
        let (cache, _) = makeCache { $0.sampling = .skip(above: 0.5) }
        _ = try await cache.response(for: try request("a", temperature: 0)) { Data("a".utf8) }  // miss
        _ = try await cache.response(for: try request("a", temperature: 0)) { Data("a".utf8) }  // hit
        _ = try await cache.response(for: try request("a", temperature: 0), options: .init(lookup: false)) { Data("a2".utf8) }  // refresh: miss
        _ = try await cache.response(for: try request("a", temperature: 0.9)) { Data("hot".utf8) }  // bypass
        let statistics = await cache.statistics()
        #expect(statistics.hits == 1)
        #expect(statistics.misses == 2)
        #expect(statistics.bypasses == 1)
    }

    @Test(arguments: [
        ("cache-all", SamplingPolicy.cacheAll),
        ("variants:2", .variants(2)),
        (" Skip-Above:0.5 ", .skip(above: 0.5)),
    ])
    func samplingPoliciesReadAsTheSettingWritesThem(text: String, policy: SamplingPolicy) throws {
        #expect(try SamplingPolicy(parsing: text) == policy)
        #expect(try SamplingPolicy(parsing: policy.description) == policy)
    }

    @Test(arguments: ["", "variants", "variants:0", "variants:two", "skip-above:-1", "skip-above:nan", "lru"])
    func malformedSamplingPoliciesSayWhatIsAccepted(text: String) {
        #expect {
            try SamplingPolicy(parsing: text)
        } throws: { error in
            guard let error = error as? CacheError else { return false }
            return error.code == .invalidConfiguration && error.message.contains("cache-all, variants:N")
        }
    }
}
