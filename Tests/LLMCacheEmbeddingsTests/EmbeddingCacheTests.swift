import LLMCache
import Synchronization
import Testing

/// An embedder that records what it was asked to embed.
final class CountingEmbedder: Embedder {
    let modelIdentifier = "counting"
    let dimension = 2
    let calls = Mutex<[[String]]>([])

    func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        calls.withLock { $0.append(texts) }
        return EmbeddingBatch(dimension: 2, values: texts.flatMap { [Float($0.count), 1] })
    }

    var embeddedTexts: [String] { calls.withLock { $0.flatMap { $0 } } }
}

@Suite struct EmbeddingCacheTests {
    @Test func repeatedTextsAreEmbeddedOnce() async throws {
        let base = CountingEmbedder()
        let cache = EmbeddingCache(base, capacity: 10)
        let first = try await cache.embed(["a", "bb", "a"])
        let second = try await cache.embed(["bb", "ccc", "a"])
        #expect(base.embeddedTexts == ["a", "bb", "ccc"])
        #expect(first[0] == [1, 1] && first[1] == [2, 1] && first[2] == [1, 1])
        #expect(second[0] == [2, 1] && second[1] == [3, 1] && second[2] == [1, 1])
        #expect(cache.counts.hits == 2)
        #expect(cache.counts.misses == 3)
        #expect(cache.modelIdentifier == "counting")
    }

    @Test func leastRecentlyUsedTextsAreEvicted() async throws {
        let base = CountingEmbedder()
        let cache = EmbeddingCache(base, capacity: 2)
        _ = try await cache.embed(["a"])
        _ = try await cache.embed(["b"])
        _ = try await cache.embed(["a"])  // a is now the most recent
        _ = try await cache.embed(["c"])  // evicts b
        _ = try await cache.embed(["a"])
        _ = try await cache.embed(["b"])
        #expect(base.embeddedTexts == ["a", "b", "c", "b"])
        #expect(cache.storedCount == 2)
    }

    @Test func concurrentUseKeepsResultsRight() async throws {
        let base = CountingEmbedder()
        let cache = EmbeddingCache(base, capacity: 50)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<20 {
                group.addTask {
                    for round in 0..<20 {
                        let texts = (0..<5).map { String(repeating: "x", count: 1 + (task * 7 + round * 3 + $0) % 80) }
                        let batch = try await cache.embed(texts)
                        for (index, text) in texts.enumerated() {
                            #expect(batch[index] == [Float(text.count), 1])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(cache.storedCount <= 50)
    }
}
