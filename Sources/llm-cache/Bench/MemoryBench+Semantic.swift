import CMallocInfo
import Foundation
import LLMCache
import LLMCacheVectorIndex

extension MemoryBench {
    /// `memory.semantic.bytes_per_entry`: heap bytes in use (glibc's
    /// `mallinfo2`) after indexing N entries in one scope of a semantic tier
    /// set up as the proxy sets it up (HNSW past the exact-search threshold,
    /// 384-d vectors, a 60-byte text each), minus before, divided by N: the
    /// vector, its graph links and spare capacity, the key maps and the record
    /// kept per entry. `memory.semantic.charged_bytes_per_entry` is what the
    /// budget charges for the same entries (`SemanticCache.charge`), which
    /// should not fall far below it.
    ///
    /// `memory.semantic.budget.heap_over_budget`: heap bytes held by a tier
    /// with a budget after indexing four budgets' worth of entries, over the
    /// budget; near 1 when the budget bounds memory. `.8x`: the same after
    /// eight budgets' worth, which should be no more than at four: memory
    /// stays flat however many more are indexed.
    func measureSemanticIndex(into report: inout BenchReport) async {
        let entries = options.quick ? 10_000 : 50_000
        let unbounded = await Self.semanticHeap(entries: entries, budget: nil)
        report.add("memory.semantic.bytes_per_entry", unbounded.heapBytes[0] / Double(entries), "bytes")
        report.add("memory.semantic.charged_bytes_per_entry", Double(unbounded.statistics.bytes) / Double(entries), "bytes")

        let budget = options.quick ? 4 << 20 : 16 << 20
        let perEntry = SemanticCache.charge(textBytes: 60, dimension: 384)
        let bounded = await Self.semanticHeap(entries: 8 * budget / perEntry, budget: budget, checkpoints: [4 * budget / perEntry])
        report.add("memory.semantic.budget.heap_over_budget", bounded.heapBytes[0] / Double(budget), "ratio")
        report.add("memory.semantic.budget.heap_over_budget.8x", bounded.heapBytes[1] / Double(budget), "ratio")
        report.add("memory.semantic.budget.evictions", Double(bounded.statistics.evictions), "entries")
    }

    /// Heap bytes a new semantic tier holds after indexing `entries`
    /// synthetic entries, each made, indexed and released in turn so only
    /// what the tier keeps is counted, after each of `checkpoints` entries and
    /// at the end; and the tier's own figures at the end.
    static func semanticHeap(entries: Int, budget: Int?, checkpoints: [Int] = []) async -> (heapBytes: [Double], statistics: SemanticCache.IndexStatistics) {
        var heap: [Double] = []
        let dimension = 384
        var random = SplitMix64(state: 5)
        let scope = key(1 << 60)
        let now = SystemCacheClock().now()
        let heapBefore = llmcache_heap_bytes_in_use()
        let semantic = SemanticCache(
            embeddingModel: "bench", dimension: dimension, configuration: .init(maximumIndexBytes: budget),
            approximateIndex: { try HNSWIndex(dimension: $0) }
        ) { _ in [] }
        for i in 0..<entries {
            if checkpoints.contains(i) {
                await semantic.indexingSettled()
                heap.append(Double(llmcache_heap_bytes_in_use()) - Double(heapBefore))
            }
            var vector = (0..<dimension).map { _ in Float(Int(random.next() % 2001) - 1000) }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for j in vector.indices { vector[j] /= norm }
            // 60 bytes, distinct per entry, as a short question is.
            let text = "How do I configure the cache for workload number \(100_000_000 + i)?"
            let record = SemanticRecord(scope: scope, text: text, embeddingModel: "bench", vector: vector)
            semantic.add(CacheEntry(key: key(UInt64(i) &+ (1 << 56)), value: Data(), model: "gpt-4o", createdAt: now, semantic: record))
        }
        await semantic.indexingSettled()
        heap.append(Double(llmcache_heap_bytes_in_use()) - Double(heapBefore))
        let statistics = semantic.indexStatistics
        withExtendedLifetime(semantic) {}
        return (heap, statistics)
    }
}
