import Foundation
import Synchronization
import LLMCache
import Testing
@testable import LLMCacheVectorIndex

/// Deterministic unit vectors around a few cluster centres, like sentence
/// embeddings of related questions.
struct VectorFactory {
    var state: UInt64
    let dimension: Int

    mutating func nextUniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }

    mutating func unit(near centre: [Float]? = nil, spread: Float = 0.3) -> [Float] {
        var v = (0..<dimension).map { _ in nextUniform() }
        if let centre { v = zip(centre, v).map { $0 + spread * $1 } }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}

func key(_ i: Int) -> CacheKey { CacheKey(hashing: Array("vector-\(i)".utf8)) }

func makeIndexes(dimension: Int) throws -> [any VectorIndex] {
    [FlatIndex(dimension: dimension), FlatIndex(dimension: dimension, storage: .int8), try HNSWIndex(dimension: dimension)]
}

@Suite struct VectorIndexTests {
    @Test(arguments: 0..<3)
    func findsTheNearestVectorsMostSimilarFirst(kind: Int) throws {
        let index = try makeIndexes(dimension: 32)[kind]
        var factory = VectorFactory(state: 1, dimension: 32)
        let vectors = (0..<300).map { _ in factory.unit() }
        for (i, v) in vectors.enumerated() { try index.add(v, for: key(i)) }
        #expect(index.count == 300)
        let matches = index.search(vectors[42], k: 5)
        #expect(matches.first?.key == key(42))
        #expect(abs(matches.first!.similarity - 1) < 0.02)
        #expect(matches.map(\.similarity) == matches.map(\.similarity).sorted(by: >))
    }

    @Test(arguments: 0..<3)
    func removedAndReplacedVectorsAreNeverReturned(kind: Int) throws {
        let index = try makeIndexes(dimension: 16)[kind]
        var factory = VectorFactory(state: 2, dimension: 16)
        let a = factory.unit(), b = factory.unit()
        try index.add(a, for: key(1))
        try index.add(b, for: key(2))
        #expect(index.remove(key(1)))
        #expect(!index.remove(key(1)))
        #expect(index.search(a, k: 2).map(\.key) == [key(2)])
        try index.add(a, for: key(2))
        #expect(index.count == 1)
        let best = index.search(a, k: 1)
        #expect(best.first?.key == key(2) && best.first!.similarity > 0.98)
        #expect(!index.contains(key(1)) && index.contains(key(2)))
    }

    @Test(arguments: 0..<3)
    func vectorsOfAnotherDimensionOrNotFiniteAreRejected(kind: Int) throws {
        let index = try makeIndexes(dimension: 8)[kind]
        #expect(throws: CacheError.self) { try index.add([Float](repeating: 0.1, count: 9), for: key(1)) }
        #expect(throws: CacheError.self) { try index.add([Float](repeating: .nan, count: 8), for: key(1)) }
        #expect(index.count == 0)
        #expect(index.search([Float](repeating: 0.1, count: 9), k: 3).isEmpty)
    }

    @Test func int8SimilaritiesStayCloseToExactOnes() throws {
        let exact = FlatIndex(dimension: 384)
        let small = FlatIndex(dimension: 384, storage: .int8)
        var factory = VectorFactory(state: 3, dimension: 384)
        let centre = factory.unit()
        for i in 0..<200 {
            let v = factory.unit(near: centre, spread: 0.5)
            try exact.add(v, for: key(i))
            try small.add(v, for: key(i))
        }
        let query = factory.unit(near: centre, spread: 0.5)
        let e = exact.search(query, k: 10), q = small.search(query, k: 10)
        for match in q {
            let truth = e.first { $0.key == match.key }?.similarity ?? exact.search(query, k: 200).first { $0.key == match.key }!.similarity
            #expect(abs(truth - match.similarity) < 0.01)
        }
    }

    @Test func hnswRecallAtOneAgainstExactSearch() throws {
        let dimension = 64
        let flat = FlatIndex(dimension: dimension)
        let hnsw = try HNSWIndex(dimension: dimension, configuration: .init(initialCapacity: 16))
        var factory = VectorFactory(state: 4, dimension: dimension)
        let centres = (0..<20).map { _ in factory.unit() }
        for i in 0..<3000 {
            let v = factory.unit(near: centres[i % 20], spread: 0.8)
            try flat.add(v, for: key(i))
            try hnsw.add(v, for: key(i))
        }
        var agree = 0
        for q in 0..<200 {
            let query = factory.unit(near: centres[q % 20], spread: 0.8)
            if hnsw.search(query, k: 1).first?.key == flat.search(query, k: 1).first?.key { agree += 1 }
        }
        #expect(Double(agree) / 200 >= 0.95, "recall@1 \(agree)/200")
    }

    @Test func hnswCompactsAfterHeavyChurnAndKeepsAnswering() throws {
        let dimension = 16
        let hnsw = try HNSWIndex(dimension: dimension)
        var factory = VectorFactory(state: 5, dimension: dimension)
        var latest: [Int: [Float]] = [:]
        for round in 0..<12 {
            for i in 0..<300 {
                let v = factory.unit()
                try hnsw.add(v, for: key(i))
                latest[i] = v
            }
            if round % 3 == 0 { for i in 0..<100 { hnsw.remove(key(i)); latest[i] = nil } }
        }
        #expect(hnsw.count == latest.count)
        for (i, v) in latest.prefix(20) {
            #expect(hnsw.search(v, k: 1).first?.key == key(i))
        }
    }

    /// A semantic index at its budget removes a vector for each it adds: the
    /// graph must reuse the removed slots rather than grow with every add.
    @Test func churnAtAConstantSizeReusesSlotsAndKeepsFindingTheNearest() throws {
        let dimension = 16
        let hnsw = try HNSWIndex(dimension: dimension)
        var factory = VectorFactory(state: 9, dimension: dimension)
        var live: [Int: [Float]] = [:]
        for i in 0..<1_000 {
            let v = factory.unit()
            try hnsw.add(v, for: key(i))
            live[i] = v
        }
        let before = hnsw.slots
        for i in 1_000..<6_000 {
            hnsw.remove(key(i - 1_000))
            live[i - 1_000] = nil
            let v = factory.unit()
            try hnsw.add(v, for: key(i))
            live[i] = v
            // Replacing a vector takes no slot either.
            if i % 10 == 0 {
                let replacement = factory.unit()
                try hnsw.add(replacement, for: key(i))
                live[i] = replacement
            }
        }
        #expect(hnsw.count == 1_000)
        #expect(hnsw.slots.used == before.used)
        #expect(hnsw.slots.capacity == before.capacity)
        var found = 0
        for (i, v) in live where hnsw.search(v, k: 1).first?.key == key(i) { found += 1 }
        #expect(found >= 990)
        for i in 0..<1_000 { #expect(!hnsw.contains(key(i))) }
    }

    @Test func concurrentSearchesAndUpdatesAreSafe() async throws {
        let hnsw = try HNSWIndex(dimension: 16, configuration: .init(initialCapacity: 8))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var factory = VectorFactory(state: UInt64(10 + worker), dimension: 16)
                    for i in 0..<500 {
                        let v = factory.unit()
                        try hnsw.add(v, for: key(worker * 1000 + i))
                        _ = hnsw.search(v, k: 3)
                        if i % 7 == 0 { hnsw.remove(key(worker * 1000 + i / 2)) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(hnsw.count > 1500)
    }
}

@Suite struct HNSWSearchBreadthTests {
    @Test func aChangedSearchBreadthStaysInForceAfterTheGraphIsRebuilt() throws {
        let dimension = 16
        let hnsw = try HNSWIndex(dimension: dimension, configuration: .init(efSearch: 10))
        #expect(hnsw.efSearch == 10)
        hnsw.efSearch = 300
        var factory = VectorFactory(state: 6, dimension: dimension)
        var latest: [Int: [Float]] = [:]
        // Replacing every key three times leaves more deleted labels than live
        // ones, which rebuilds the graph.
        for _ in 0..<4 {
            for i in 0..<1200 {
                let v = factory.unit()
                try hnsw.add(v, for: key(i))
                latest[i] = v
            }
        }
        #expect(hnsw.efSearch == 300)
        let flat = FlatIndex(dimension: dimension)
        for (i, v) in latest { try flat.add(v, for: key(i)) }
        var agree = 0
        for _ in 0..<200 {
            let query = factory.unit()
            if hnsw.search(query, k: 1).first?.key == flat.search(query, k: 1).first?.key { agree += 1 }
        }
        #expect(agree >= 198, "recall@1 \(agree)/200 with efSearch 300")
    }

    @Test func theSearchBreadthDoublesForEveryTenfoldGrowthPastAHundredThousand() {
        #expect(HNSWIndex.grownEfSearch(64, count: 50_000) == 64)
        #expect(HNSWIndex.grownEfSearch(64, count: 100_000) == 64)
        #expect(HNSWIndex.grownEfSearch(64, count: 1_000_000) == 128)
        #expect(HNSWIndex.grownEfSearch(64, count: 10_000_000) == 256)
        #expect(HNSWIndex.grownEfSearch(64, count: 316_228) == 91)
    }
}

/// Holds the approximate index's construction until the test lets it go.
private final class ConstructionGate: Sendable {
    let release = DispatchSemaphore(value: 0)
    let created = Mutex<HNSWIndex?>(nil)
}

@Suite struct SemanticScopeConversionTests {
    @Test("a scope that outgrows exact search moves to HNSW in the background: lookups go on meanwhile, and adds and removes made meanwhile are kept")
    func backgroundConversion() async throws {
        let dimension = 16
        var factory = VectorFactory(state: 7, dimension: dimension)
        let vectors = (0..<12).map { _ in factory.unit() }
        let gate = ConstructionGate()
        var configuration = SemanticCache.Configuration()
        configuration.verifiers = []
        configuration.threshold = 0.99
        configuration.approximateSearchThreshold = 8
        let semantic = SemanticCache(
            embeddingModel: "test/vectors", dimension: dimension, configuration: configuration,
            approximateIndex: { dimension in
                // Bounded, so a broken test fails instead of hanging.
                _ = gate.release.wait(timeout: .now() + 60)
                let index = try HNSWIndex(dimension: dimension)
                gate.created.withLock { $0 = index }
                return index
            },
            embed: { text in vectors[Int(text.split(separator: " ").last!)!] }
        )
        let store = MemoryStore()
        func request(_ text: String) throws -> LLMRequest {
            try LLMRequest(json: Array(#"{"model":"m","messages":[{"role":"user","content":"\#(text)"}]}"#.utf8))
        }
        func put(_ i: Int) async throws {
            let probe = try #require(try await semantic.probe(request("stored \(i)"), namespace: "ns"))
            var entry = CacheEntry(key: key(i), value: Data("answer \(i)".utf8), namespace: "ns", createdAt: SystemCacheClock().now())
            entry.semantic = semantic.record(for: probe)
            try await store.set(entry)
            semantic.add(entry)
        }
        func lookup(_ i: Int) async throws -> CacheKey? {
            let probe = try #require(try await semantic.probe(request("query \(i)"), namespace: "ns"))
            return try await semantic.match(probe, in: store)?.entry.key
        }

        // The ninth add finds eight vectors in the scope and starts the build.
        for i in 0..<9 { try await put(i) }
        for i in 9..<12 { try await put(i) }
        semantic.remove(key(2))
        // The build is held: exact search answers, with every change so far.
        #expect(gate.created.withLock { $0 } == nil)
        #expect(try await lookup(10) == key(10))
        #expect(try await lookup(2) == nil)

        gate.release.signal()
        await semantic.indexingSettled()
        let approximate = try #require(gate.created.withLock { $0 })
        #expect(approximate.count == 11)
        #expect(!approximate.contains(key(2)))
        for i in [0, 9, 11] { #expect(try await lookup(i) == key(i)) }
        #expect(try await lookup(2) == nil)
    }
}
