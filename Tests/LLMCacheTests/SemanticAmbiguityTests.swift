import Foundation
import Testing

@testable import LLMCache

/// The ambiguity rule: a query about equally close to two different cached
/// questions is a miss. Vectors are placed by hand so the similarities are exact.
@Suite struct SemanticAmbiguityTests {
    /// The query at (1, 0, 0) and cached texts at chosen cosines to it, each
    /// in its own direction so no two cached texts coincide.
    struct Space {
        var vectors: [String: [Float]] = ["query": [1, 0, 0, 0]]

        mutating func place(_ text: String, at cosine: Float, axis: Int) {
            var vector: [Float] = [cosine, 0, 0, 0]
            vector[axis] = (1 - cosine * cosine).squareRoot()
            vectors[text] = vector
        }
    }

    /// Rejects any cached text containing "different".
    struct RejectsDifferent: SemanticVerifier {
        let name = "test"
        func verify(query: String, candidate: String, similarity: Float) async throws -> SemanticVerdict {
            candidate.contains("different") ? .reject("says different") : .accept
        }
    }

    func request(_ text: String) throws -> LLMRequest {
        try LLMRequest(json: Array(#"{"model":"m","messages":[{"role":"user","content":"\#(text)"}]}"#.utf8))
    }

    /// A semantic cache over `space` with the cached texts stored, and the
    /// store they are in.
    func cache(
        _ space: Space, storing texts: [String], ambiguity: SemanticCache.Ambiguity = .standard
    ) async throws -> (SemanticCache, MemoryStore, [String: CacheKey]) {
        var configuration = SemanticCache.Configuration(threshold: 0.85, verifiers: [RejectsDifferent()], ambiguity: ambiguity)
        configuration.approximateSearchThreshold = .max
        let vectors = space.vectors
        let semantic = SemanticCache(embeddingModel: "test/hand-placed", dimension: 4, configuration: configuration) { text in
            try #require(vectors[text])
        }
        let store = MemoryStore()
        var keys: [String: CacheKey] = [:]
        for text in texts {
            let probe = try #require(try await semantic.probe(request(text), namespace: "ns"))
            var entry = CacheEntry(key: CacheKey(hashing: Array(text.utf8)), value: Data(text.utf8), namespace: "ns", createdAt: SystemCacheClock().now())
            entry.semantic = semantic.record(for: probe)
            try await store.set(entry)
            semantic.add(entry)
            keys[text] = entry.key
        }
        return (semantic, store, keys)
    }

    func served(_ semantic: SemanticCache, _ store: MemoryStore) async throws -> String? {
        let probe = try #require(try await semantic.probe(request("query"), namespace: "ns"))
        return try await semantic.match(probe, in: store).map { String(decoding: $0.entry.value, as: UTF8.self) }
    }

    @Test func aQueryBetweenTwoCloseCandidatesIsAMiss() async throws {
        var space = Space()
        space.place("closest", at: 0.92, axis: 1)
        space.place("close behind", at: 0.90, axis: 2)
        let (semantic, store, _) = try await cache(space, storing: ["closest", "close behind"])
        #expect(try await served(semantic, store) == nil)

        let (plain, plainStore, _) = try await cache(space, storing: ["closest", "close behind"], ambiguity: .off)
        #expect(try await served(plain, plainStore) == "closest")
    }

    @Test func aClearLeaderIsServed() async throws {
        var space = Space()
        space.place("closest", at: 0.92, axis: 1)
        space.place("far behind", at: 0.87, axis: 2)
        let (semantic, store, _) = try await cache(space, storing: ["closest", "far behind"])
        #expect(try await served(semantic, store) == "closest")
    }

    @Test func aRivalBelowTheThresholdStillCounts() async throws {
        var space = Space()
        space.place("closest", at: 0.86, axis: 1)
        space.place("just under the threshold", at: 0.84, axis: 2)
        let (semantic, store, _) = try await cache(space, storing: ["closest", "just under the threshold"])
        #expect(try await served(semantic, store) == nil)
    }

    @Test func aDecisiveSimilarityIsServedWhateverIsNear() async throws {
        var space = Space()
        space.place("rewording", at: 0.97, axis: 1)
        space.place("also close", at: 0.96, axis: 2)
        let (semantic, store, _) = try await cache(space, storing: ["rewording", "also close"])
        #expect(try await served(semantic, store) == "rewording")
    }

    @Test func aRivalTheVerifiersRejectDoesNotCount() async throws {
        var space = Space()
        space.place("closest", at: 0.92, axis: 1)
        space.place("something different", at: 0.91, axis: 2)
        let (semantic, store, _) = try await cache(space, storing: ["closest", "something different"])
        #expect(try await served(semantic, store) == "closest")
    }

    @Test func aRivalWhoseEntryIsGoneDoesNotCountAndIsDropped() async throws {
        var space = Space()
        space.place("closest", at: 0.92, axis: 1)
        space.place("deleted", at: 0.91, axis: 2)
        let (semantic, store, keys) = try await cache(space, storing: ["closest", "deleted"])
        // Gone from the store behind the index's back, as when another
        // process deletes it.
        try await store.delete(try #require(keys["deleted"]))
        #expect(semantic.count == 2)
        #expect(try await served(semantic, store) == "closest")
        #expect(semantic.count == 1)
    }

    @Test func aCandidateTheVerifiersRejectLeavesTheNextOneToBeJudgedOnItsOwnLead() async throws {
        var space = Space()
        space.place("a different question", at: 0.95, axis: 1)
        space.place("the right one", at: 0.93, axis: 2)
        space.place("far behind", at: 0.86, axis: 3)
        let (semantic, store, _) = try await cache(space, storing: ["a different question", "the right one", "far behind"])
        #expect(try await served(semantic, store) == "the right one")
    }

    /// `eval-semantic` scores the rule the cache applies.
    @Test func theEvaluationProtocolAppliesTheSameRule() async throws {
        let tied = [(index: 0, similarity: Float(0.92)), (index: 1, similarity: Float(0.90))]
        let clear = [(index: 0, similarity: Float(0.92)), (index: 1, similarity: Float(0.87))]
        func hit(_ candidates: [(index: Int, similarity: Float)], _ ambiguity: SemanticCache.Ambiguity = .standard, rejecting: Set<Int> = []) async throws -> Int? {
            try await ambiguity.choose(candidates, threshold: 0.85) { !rejecting.contains($0) }?.index
        }
        #expect(try await hit(tied) == nil)
        #expect(try await hit(tied, .off) == 0)
        #expect(try await hit(tied, rejecting: [1]) == 0)
        #expect(try await hit(tied, rejecting: [0]) == 1)
        #expect(try await hit(clear) == 0)
        #expect(try await hit([(index: 0, similarity: 0.84)], .off) == nil)
    }
}
