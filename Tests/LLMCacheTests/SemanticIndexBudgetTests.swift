import Foundation
import Testing

@testable import LLMCache

/// The semantic index's byte budget (`SemanticCache.Configuration.maximumIndexBytes`),
/// with synthetic vectors: what it keeps, what it drops, and that the store is
/// untouched by it.
@Suite struct SemanticIndexBudgetTests {
    static let dimension = 8

    /// A unit vector of `dimension` components, one per seed, spread apart.
    static func vector(_ seed: Int) -> [Float] {
        var state = UInt64(seed) &* 0x9e37_79b9_7f4a_7c15 &+ 1
        var vector = (0..<dimension).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2001 - 1000)
        }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for i in vector.indices { vector[i] /= norm }
        return vector
    }

    /// A tier whose embedder maps each text of `texts` to its own vector, and
    /// whose budget holds about `room` entries with the texts given.
    static func tier(budgetFor room: Double, textBytes: Int = 20, texts: [String: [Float]] = [:]) -> SemanticCache {
        let budget = Int(Double(SemanticCache.charge(textBytes: textBytes, dimension: dimension)) * room)
        var configuration = SemanticCache.Configuration(verifiers: [], ambiguity: .off, maximumIndexBytes: budget)
        configuration.approximateSearchThreshold = .max
        return SemanticCache(embeddingModel: "test/synthetic", dimension: dimension, configuration: configuration) { text in
            try #require(texts[text])
        }
    }

    static let scope = CacheKey(hashing: Array("scope".utf8))

    /// An entry of the synthetic tier with a 20-byte text.
    static func entry(_ i: Int, text: String? = nil, vector: [Float]? = nil) -> CacheEntry {
        let text = text ?? "question \(String(i).padding(toLength: 11, withPad: "-", startingAt: 0))"
        return CacheEntry(
            key: CacheKey(hashing: Array("entry \(i)".utf8)), value: Data("answer \(i)".utf8), namespace: "ns", createdAt: SystemCacheClock().now(),
            semantic: SemanticRecord(scope: scope, text: text, embeddingModel: "test/synthetic", vector: vector ?? Self.vector(i))
        )
    }

    @Test func theIndexStaysWithinItsBudgetOverManyInsertsByEvictingTheOldest() async throws {
        let semantic = Self.tier(budgetFor: 100.5)
        let budget = try #require(semantic.configuration.maximumIndexBytes)
        for i in 0..<2_000 {
            semantic.add(Self.entry(i))
            let figures = semantic.indexStatistics
            #expect(figures.bytes <= budget)
            #expect(figures.entries + figures.evictions == i + 1)
        }
        let figures = semantic.indexStatistics
        #expect(figures.entries <= 100 && figures.entries >= 90)
        #expect(figures.evictions >= 1_900)
        #expect(figures.budgetBytes == budget)
        #expect(figures.bytes == figures.entries * SemanticCache.charge(textBytes: 20, dimension: Self.dimension))
        // The newest are the ones kept.
        #expect(semantic.count == figures.entries)
        for i in (2_000 - figures.entries)..<2_000 { #expect(semantic.remove(Self.entry(i).key)) }
        #expect(semantic.indexStatistics.bytes == 0)
        #expect(semantic.indexStatistics.entries == 0)
    }

    @Test func anEntryServedByMeaningOutlivesOlderOnesAndAnEvictedOneIsStillInTheStore() async throws {
        let near = Self.vector(0).enumerated().map { $0.offset == 0 ? $0.element + 0.05 : $0.element }
        let norm = near.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let paraphrase = near.map { $0 / norm }
        let first = Self.entry(0, text: "first question -----")
        let second = Self.entry(1, text: "second question ----")
        let semantic = Self.tier(budgetFor: 3.5, texts: ["first paraphrase ---": paraphrase, "second paraphrase --": Self.vector(1)])
        let store = MemoryStore()
        let request = { (text: String) in try LLMRequest(json: Array(#"{"model":"m","messages":[{"role":"user","content":"\#(text)"}]}"#.utf8)) }
        func served(_ text: String) async throws -> CacheKey? {
            let probe = try #require(try await semantic.probe(request(text), namespace: "ns"))
            return try await semantic.match(probe, in: store).map(\.entry.key)
        }
        // The records' scope must be the one lookups compute.
        let scope = try #require(semantic.scope(of: try request("x"), namespace: "ns")).key
        func scoped(_ entry: CacheEntry) -> CacheEntry {
            var entry = entry
            entry.semantic?.scope = scope
            return entry
        }
        for entry in [first, second].map(scoped) {
            try await store.set(entry)
            semantic.add(entry)
        }
        semantic.add(scoped(Self.entry(2)))
        #expect(try await served("first paraphrase ---") == first.key)
        // Over budget: the oldest not served since, the second question, goes.
        semantic.add(scoped(Self.entry(3)))
        #expect(semantic.indexStatistics.evictions == 1)
        #expect(try await served("first paraphrase ---") == first.key)
        #expect(try await served("second paraphrase --") == nil)
        // Its entry is untouched: still an exact hit.
        #expect(try await store.get(second.key) == scoped(second))
    }

    @Test func aRebuildFromALargerStoreKeepsWithinTheBudget() async throws {
        let store = MemoryStore()
        for i in 0..<500 { try await store.set(Self.entry(i)) }
        let semantic = Self.tier(budgetFor: 50.5)
        let indexed = try await semantic.rebuild(from: store)
        #expect(indexed == 500)
        let figures = semantic.indexStatistics
        #expect(figures.bytes <= (semantic.configuration.maximumIndexBytes ?? 0))
        #expect(figures.entries <= 50)
        #expect(figures.entries + figures.evictions == 500)
    }

    @Test func withoutABudgetNothingIsEvicted() async throws {
        var configuration = SemanticCache.Configuration(maximumIndexBytes: nil)
        configuration.approximateSearchThreshold = .max
        let semantic = SemanticCache(embeddingModel: "test/synthetic", dimension: Self.dimension, configuration: configuration) { _ in [] }
        for i in 0..<1_000 { semantic.add(Self.entry(i)) }
        #expect(semantic.indexStatistics.entries == 1_000)
        #expect(semantic.indexStatistics.evictions == 0)
        #expect(semantic.indexStatistics.budgetBytes == nil)
    }

    @Test func theDefaultBudgetIsStated() {
        #expect(SemanticCache.Configuration().maximumIndexBytes == 128 << 20)
    }
}
