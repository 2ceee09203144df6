import ArgumentParser
import CBLAS
import Foundation
import LLMCache
import LLMCacheEmbeddings
import LLMCacheEvaluation
import LLMCacheVectorIndex
import Synchronization

/// `llm-cache bench semantic`: how fast the semantic tier finds a candidate in
/// one large scope, how often approximate search finds the true nearest
/// neighbour, where exact search stops paying, and what a whole semantic hit
/// costs with the real model.
struct SemanticBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "semantic",
        abstract: "Semantic tier: search latency and recall at 100k and 1M vectors, exact vs HNSW crossover, end-to-end semantic hits.",
        discussion: """
            Figures (SIZE is 100k and 1m in the full run, 10k with --quick; latencies are medians):
              semantic.build.SIZE                 s      adding SIZE entries to one scope through SemanticCache.add (exact index, then HNSW past the threshold)
              semantic.build.SIZE.cpu             s      process CPU time of the same (one thread does the work)
              semantic.search.SIZE                ms     SemanticCache.match for a ready probe (embedding excluded): HNSW search, verifiers, MemoryStore read
              semantic.search.SIZE.p99            ms     99th percentile of the same
              semantic.index.search.SIZE          ms     HNSWIndex.search alone, k = 5
              semantic.recall_at_1.SIZE           ratio  HNSW top-1 equal to exact top-1, over all queries
              semantic.recall_at_1.SIZE.paraphrase / .novel   the same over queries near a stored vector / new questions
              semantic.hnsw.efN.search.SIZE, .recall_at_1.SIZE  the same index searched with efSearch = N
              semantic.rss.SIZE                   MB     resident memory growth of the run (index, store and metadata)
              semantic.flat.search.Nk / semantic.flat_int8.search.Nk / semantic.hnsw.search.Nk   ms   exact float32, exact int8 and HNSW search, k = 5, at 1k to 32k (8k with --quick)
              semantic.hnsw.recall_at_1.Nk        ratio  HNSW against exact float32 at the same sizes
              semantic.minilm.build / .search / .flat.search / .recall_at_1 / .recall_at_1.above_threshold
                                                         the same on all-MiniLM-L6-v2 vectors of the development questions
                                                         (stored: distinct question1; queries: distinct question2)
              semantic.hit.e2e                    ms     LLMCache.response answered by meaning: embed (1 thread, new text) + search + verify + read
              semantic.hit.e2e.p90 / .cpu / .embed       90th percentile, process CPU time, and the embedding alone, for the same hits
              semantic.miss.e2e                   ms     the same for paraphrases that were not served (compute returns at once)
            Synthetic vectors are 384-d unit vectors around one centre per 100 entries
            (members of a cluster have cosine ≈ 0.5); half the queries paraphrase a
            stored vector (cosine ≈ 0.9), half are new questions in a cluster.
            Needs the model (scripts/install-model.sh) and the pairs file for the minilm and e2e figures.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(name: .customLong("model-dir"), help: "The model folder (default: $LLMCACHE_MODEL_DIR, else ~/.cache/llm-cache/models/all-MiniLM-L6-v2).")
    var modelDirectory: String?

    @Option(help: "Labelled question pairs (default: $LLMCACHE_SEMANTIC_PAIRS, else ../shared/fixtures/semantic/qqp_val.csv).")
    var pairs: String?

    @Option(help: "Entries in the one-scope search runs, comma-separated (default: 100000,1000000; with --quick 10000).")
    var sizes: String?

    @Option(help: "Parts to run, comma-separated: scale, crossover, minilm, e2e (default: all).")
    var only: String?

    @Option(help: "HNSW links per node (default: HNSWIndex's).")
    var m: Int?

    @Option(help: "HNSW candidate list size while building (default: HNSWIndex's).")
    var efConstruction: Int?

    @Option(help: "HNSW candidate list size while searching (default: HNSWIndex's).")
    var efSearch: Int?

    static let dimension = 384

    func run() async throws {
        var report = BenchReport(benchmark: "semantic")
        let started = ContinuousClock.now
        let parts = Set((only ?? "scale,crossover,minilm,e2e").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        progress("HNSW: M \(hnswConfiguration.m), efConstruction \(hnswConfiguration.efConstruction), efSearch \(hnswConfiguration.efSearch); exact search up to \(SemanticCache.Configuration().approximateSearchThreshold) vectors per scope")

        if parts.contains("crossover") {
            try measureCrossover(into: &report)
        }
        if parts.contains("scale") {
            for size in try scaleSizes() {
                try await measureScale(size: size, into: &report)
            }
        }
        if parts.contains("minilm") || parts.contains("e2e") {
            if let data = try loadPairs() {
                let embedded = try await measureRealVectors(data, measure: parts.contains("minilm"), into: &report)
                if parts.contains("e2e") {
                    try await measureEndToEnd(data, embedded: embedded, into: &report)
                }
            }
        }
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            progress("load average at the end: \(load.split(separator: " ").prefix(3).joined(separator: " ")) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        }
        progress(String(format: "bench semantic took %.0f s", (ContinuousClock.now - started).seconds))
        report.print(json: options.json)
    }

    var hnswConfiguration: HNSWIndex.Configuration {
        var configuration = HNSWIndex.Configuration()
        if let m { configuration.m = m }
        if let efConstruction { configuration.efConstruction = efConstruction }
        if let efSearch { configuration.efSearch = efSearch }
        return configuration
    }

    // MARK: - Search at scale

    func scaleSizes() throws -> [Int] {
        guard let sizes else { return options.quick ? [10_000] : [100_000, 1_000_000] }
        return try sizes.split(separator: ",").map { text in
            guard let size = Int(text.trimmingCharacters(in: .whitespaces)), size > 0 else {
                throw ValidationError("--sizes takes positive entry counts separated by commas, got '\(text)'")
            }
            return size
        }
    }

    /// "10k", "100k", "1m": the size as figure names spell it.
    static func label(_ size: Int) -> String {
        if size >= 1_000_000, size % 1_000_000 == 0 { return "\(size / 1_000_000)m" }
        if size >= 1000, size % 1000 == 0 { return "\(size / 1000)k" }
        return "\(size)"
    }

    /// Bytes one entry of the scale run needs, measured at 100k (about 2.6 KB:
    /// vector and graph links, key maps, metadata, the stored entry) with room
    /// for the index doubling its capacity.
    static let bytesPerEntry = 4_500

    func measureScale(size requested: Int, into report: inout BenchReport) async throws {
        var size = requested
        let available = Self.availableMegabytes()
        let needed = Double(size) * Double(Self.bytesPerEntry) / 1e6
        // Leave half of what is free to the other processes on the machine.
        if available > 0, needed > available / 2 {
            let fitting = Int(available / 2 * 1e6) / Self.bytesPerEntry / 100_000 * 100_000
            progress(String(format: "%@ entries need about %.0f MB; %.0f MB are available: measuring %@ instead", Self.label(size), needed, available, Self.label(fitting)))
            guard fitting > 0 else { return }
            size = fitting
        }
        let label = Self.label(size)
        let dimension = Self.dimension
        var vectors = ClusteredVectors(seed: 7, dimension: dimension, clusters: max(16, size / 100))
        let queryCount = options.quick ? 200 : 500
        var queries: [[Float]] = []
        var paraphrase: [Bool] = []
        var random = SplitMix64(state: 99)
        for q in 0..<queryCount {
            if q % 2 == 0 {
                queries.append(vectors.paraphrase(of: vectors.stored(Int(random.next() % UInt64(size)))))
                paraphrase.append(true)
            } else {
                queries.append(vectors.novel())
                paraphrase.append(false)
            }
        }

        let configuration = hnswConfiguration
        // The index the scope moves to, kept to search it directly too; and the
        // vector the stand-in embedder returns for the next probe.
        let created = Locked<HNSWIndex?>(nil)
        let pending = Locked<[Float]>([])
        let semantic = SemanticCache(
            embeddingModel: "bench/synthetic-\(dimension)",
            dimension: dimension,
            approximateIndex: { dimension in
                let index = try HNSWIndex(dimension: dimension, configuration: configuration)
                created.value.withLock { $0 = index }
                return index
            },
            embed: { _ in pending.value.withLock { $0 } }
        )
        let store = MemoryStore(configuration: .init(maximumBytes: 16 << 30))
        let storedRequest = try Self.chat("how can i get better at cooking at home")
        let queryRequest = try Self.chat("what is the best way to improve my cooking")
        guard let scope = SemanticScope(request: storedRequest, namespace: "default") else {
            throw CacheError(.invalidArgument, "the benchmark's request has no text to match")
        }
        let answer = Data("Practise the basics every day.".utf8)
        let clock = SystemCacheClock()
        var exact = ExactTopOne(queries: queries, dimension: dimension)

        progress("scale \(label): adding \(size) entries to one scope…")
        let rssBefore = EmbedBench.residentMegabytes()
        var adding = Duration.zero
        var addingCPU = 0.0
        for i in 0..<size {
            let vector = vectors.stored(i)
            let key = CacheKey(hashing: Array("semantic-bench-\(i)".utf8))
            let entry = CacheEntry(key: key, value: answer, namespace: "default", createdAt: clock.now())
            try await store.set(entry)
            var indexed = entry
            indexed.semantic = SemanticRecord(scope: scope.key, text: scope.text, embeddingModel: semantic.embeddingModel, vector: vector)
            let cpuStart = EmbedBench.processCPUMilliseconds()
            let start = ContinuousClock.now
            semantic.add(indexed)
            adding += ContinuousClock.now - start
            addingCPU += EmbedBench.processCPUMilliseconds() - cpuStart
            exact.offer(vector)
            if i > 0, i % 100_000 == 0 {
                progress(String(format: "  %d added, %.1f s in SemanticCache.add", i, adding.seconds))
            }
        }
        // The approximate index is built in the background once the scope
        // outgrows exact search; count its building too.
        let cpuStart = EmbedBench.processCPUMilliseconds()
        let settling = ContinuousClock.now
        await semantic.indexingSettled()
        adding += ContinuousClock.now - settling
        addingCPU += EmbedBench.processCPUMilliseconds() - cpuStart
        exact.finish()
        report.add("semantic.build.\(label)", adding.seconds, "s")
        // CPU time of the same adds: the work, whatever else the machine runs.
        report.add("semantic.build.\(label).cpu", addingCPU / 1000, "s")
        guard let index = created.value.withLock({ $0 }), index.count == size else {
            throw CacheError(.invalidConfiguration, "the scope did not move to HNSW at \(size) entries; run sizes above SemanticCache's approximateSearchThreshold")
        }

        // The similarity HNSW returns comes from hnswlib's kernel and the exact
        // one from BLAS: equal within rounding when they found the same vector.
        func found(_ similarity: Float?, _ q: Int) -> Bool {
            guard let similarity else { return false }
            return similarity >= exact.best[q] - 1e-4
        }

        // The index alone first, then the whole lookup, in separate passes: a
        // search right after a lookup of the same query would find the graph
        // nodes it needs already in the CPU caches.
        var indexTimes: [Double] = []
        var correct = [Bool](repeating: false, count: queryCount)
        let rounds = options.quick ? 2 : 3
        for round in 0..<rounds {
            for (q, query) in queries.enumerated() {
                let start = ContinuousClock.now
                let nearest = index.search(query, k: semantic.configuration.candidates)
                indexTimes.append((ContinuousClock.now - start).milliseconds)
                if round == 0 { correct[q] = found(nearest.first?.similarity, q) }
            }
        }
        var matchTimes: [Double] = []
        var hits = 0
        for round in 0..<rounds {
            for query in queries {
                pending.value.withLock { $0 = query }
                guard let probe = try await semantic.probe(queryRequest, namespace: "default") else { continue }
                let start = ContinuousClock.now
                let match = try await semantic.match(probe, in: store)
                matchTimes.append((ContinuousClock.now - start).milliseconds)
                if round == 0, match != nil { hits += 1 }
            }
        }
        progress("  \(hits) of \(queryCount) queries served (\(queryCount / 2) paraphrase a stored vector)")
        report.add("semantic.search.\(label)", Self.median(matchTimes), "ms")
        report.add("semantic.search.\(label).p99", Self.percentile(matchTimes, 0.99), "ms")
        report.add("semantic.index.search.\(label)", Self.median(indexTimes), "ms")
        let recall = Double(correct.filter { $0 }.count) / Double(queryCount)
        let recallParaphrase = Double(zip(correct, paraphrase).filter { $0 && $1 }.count) / Double(paraphrase.filter { $0 }.count)
        let recallNovel = Double(zip(correct, paraphrase).filter { $0 && !$1 }.count) / Double(paraphrase.filter { !$0 }.count)
        report.add("semantic.recall_at_1.\(label)", recall, "ratio")
        report.add("semantic.recall_at_1.\(label).paraphrase", recallParaphrase, "ratio")
        report.add("semantic.recall_at_1.\(label).novel", recallNovel, "ratio")
        report.add("semantic.rss.\(label)", EmbedBench.residentMegabytes() - rssBefore, "MB")

        // What each search breadth buys on this very graph.
        let configured = index.efSearch
        for ef in [16, 32, 64, 128, 256] {
            index.efSearch = ef
            var times: [Double] = []
            var agree = 0
            for round in 0..<2 {
                for (q, query) in queries.enumerated() {
                    let start = ContinuousClock.now
                    let nearest = index.search(query, k: semantic.configuration.candidates)
                    times.append((ContinuousClock.now - start).milliseconds)
                    if round == 0, found(nearest.first?.similarity, q) { agree += 1 }
                }
            }
            report.add("semantic.hnsw.ef\(ef).search.\(label)", Self.median(times), "ms")
            report.add("semantic.hnsw.ef\(ef).recall_at_1.\(label)", Double(agree) / Double(queryCount), "ratio")
        }
        index.efSearch = configured
    }

    // MARK: - Exact against approximate, by size

    /// Exact (float32, int8) and HNSW search on the same vectors as the scope
    /// grows: where the default `approximateSearchThreshold` comes from.
    func measureCrossover(into report: inout BenchReport) throws {
        let checkpoints = options.quick ? [1000, 2000, 4000, 8000] : [1000, 2000, 4000, 8000, 16_000, 32_000]
        let dimension = Self.dimension
        let flat = FlatIndex(dimension: dimension)
        let small = FlatIndex(dimension: dimension, storage: .int8)
        let hnsw = try HNSWIndex(dimension: dimension, configuration: hnswConfiguration)
        var vectors = ClusteredVectors(seed: 11, dimension: dimension, clusters: max(16, checkpoints.last! / 100))
        var random = SplitMix64(state: 5)
        var added = 0
        var crossover: Int?
        var previous: (size: Int, flat: Double, hnsw: Double)?
        for size in checkpoints {
            while added < size {
                let vector = vectors.stored(added)
                let key = CacheKey(hashing: Array("crossover-\(added)".utf8))
                try flat.add(vector, for: key)
                try small.add(vector, for: key)
                try hnsw.add(vector, for: key)
                added += 1
            }
            let queries = (0..<(options.quick ? 100 : 200)).map { q in
                q % 2 == 0 ? vectors.paraphrase(of: vectors.stored(Int(random.next() % UInt64(size)))) : vectors.novel()
            }
            var times: [[Double]] = [[], [], []]
            var agree = 0
            for round in 0..<3 {
                // Interleaved, so a burst of load from elsewhere hits all three alike.
                for query in queries {
                    var start = ContinuousClock.now
                    let exact = flat.search(query, k: 5)
                    times[0].append((ContinuousClock.now - start).milliseconds)
                    start = ContinuousClock.now
                    _ = small.search(query, k: 5)
                    times[1].append((ContinuousClock.now - start).milliseconds)
                    start = ContinuousClock.now
                    let approximate = hnsw.search(query, k: 5)
                    times[2].append((ContinuousClock.now - start).milliseconds)
                    if round == 0, let a = approximate.first, let e = exact.first, a.similarity >= e.similarity - 1e-5 { agree += 1 }
                }
            }
            let label = Self.label(size)
            let medians = times.map(Self.median)
            report.add("semantic.flat.search.\(label)", medians[0], "ms")
            report.add("semantic.flat_int8.search.\(label)", medians[1], "ms")
            report.add("semantic.hnsw.search.\(label)", medians[2], "ms")
            report.add("semantic.hnsw.recall_at_1.\(label)", Double(agree) / Double(queries.count), "ratio")
            if crossover == nil, medians[2] < medians[0] {
                // Linear between the two checkpoints that bracket the crossing.
                if let previous, previous.hnsw >= previous.flat {
                    let before = previous.flat - previous.hnsw, after = medians[0] - medians[2]
                    crossover = previous.size + Int(Double(size - previous.size) * before / (before - after))
                } else {
                    crossover = size
                }
            }
            previous = (size, medians[0], medians[2])
        }
        if let crossover {
            progress("exact float32 and HNSW search cost the same at about \(crossover) vectors")
        } else {
            progress("exact float32 search stayed faster than HNSW up to \(checkpoints.last!) vectors")
        }
    }

    // MARK: - all-MiniLM-L6-v2 vectors of the development questions

    func loadPairs() throws -> LabelledPairs? {
        let path = pairs ?? ProcessInfo.processInfo.environment["LLMCACHE_SEMANTIC_PAIRS"] ?? "../shared/fixtures/semantic/qqp_val.csv"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            if pairs != nil { throw CacheError(.invalidArgument, "cannot read \(path)") }
            progress("no pairs file at \(path): skipping the minilm and e2e figures (give one with --pairs)")
            return nil
        }
        var data = try LabelledPairs(csv: text)
        if options.quick { data.pairs = Array(data.pairs.prefix(600)) }
        return data
    }

    /// Embeds every distinct question once (2 threads) and, when `measure`,
    /// compares HNSW with exact search on them. Returns the vectors by text.
    func measureRealVectors(_ data: LabelledPairs, measure: Bool, into report: inout BenchReport) async throws -> [String: [Float]] {
        let model = try MiniLMEmbedder(directory: modelDirectory, configuration: .init(threads: 2))
        let texts = data.distinctTexts
        progress("embedding \(texts.count) distinct questions…")
        var vectors: [String: [Float]] = [:]
        let start = ContinuousClock.now
        for first in stride(from: 0, to: texts.count, by: 256) {
            let slice = Array(texts[first..<min(first + 256, texts.count)])
            let batch = try await model.embed(slice)
            for (i, text) in slice.enumerated() { vectors[text] = batch[i] }
        }
        progress(String(format: "  embedded in %.1f s", (ContinuousClock.now - start).seconds))
        guard measure else { return vectors }

        let stored = Self.distinct(data.pairs.map(\.textA))
        let storedSet = Set(stored)
        let queries = Self.distinct(data.pairs.map(\.textB)).filter { !storedSet.contains($0) }
        let flat = FlatIndex(dimension: model.dimension)
        let hnsw = try HNSWIndex(dimension: model.dimension, configuration: hnswConfiguration)
        var building = Duration.zero
        for text in stored {
            let key = CacheKey(hashing: Array(text.utf8))
            try flat.add(vectors[text]!, for: key)
            let start = ContinuousClock.now
            try hnsw.add(vectors[text]!, for: key)
            building += ContinuousClock.now - start
        }
        progress("minilm: \(stored.count) stored questions, \(queries.count) queries")
        var hnswTimes: [Double] = [], flatTimes: [Double] = []
        var agree = 0, above = 0, agreeAbove = 0
        for round in 0..<3 {
            for text in queries {
                let query = vectors[text]!
                var start = ContinuousClock.now
                let approximate = hnsw.search(query, k: 5)
                hnswTimes.append((ContinuousClock.now - start).milliseconds)
                start = ContinuousClock.now
                let exact = flat.search(query, k: 5)
                flatTimes.append((ContinuousClock.now - start).milliseconds)
                guard round == 0, let e = exact.first else { continue }
                let same = (approximate.first?.similarity ?? -2) >= e.similarity - 1e-5
                if same { agree += 1 }
                if e.similarity >= SemanticCache.Configuration().threshold {
                    above += 1
                    if same { agreeAbove += 1 }
                }
            }
        }
        report.add("semantic.minilm.build", building.seconds, "s")
        report.add("semantic.minilm.search", Self.median(hnswTimes), "ms")
        report.add("semantic.minilm.flat.search", Self.median(flatTimes), "ms")
        report.add("semantic.minilm.recall_at_1", Double(agree) / Double(max(1, queries.count)), "ratio")
        report.add("semantic.minilm.recall_at_1.above_threshold", Double(agreeAbove) / Double(max(1, above)), "ratio")
        progress("  \(above) queries have a stored question at cosine ≥ \(SemanticCache.Configuration().threshold)")
        return vectors
    }

    // MARK: - A semantic hit end to end

    /// Paraphrases of stored questions asked through the facade: the stored
    /// questions are loaded with their vectors as after a restart, and each
    /// query is a text the embedding cache has never seen, so it is embedded.
    func measureEndToEnd(_ data: LabelledPairs, embedded: [String: [Float]], into report: inout BenchReport) async throws {
        let base = try MiniLMEmbedder(directory: modelDirectory, configuration: .init(threads: 1))
        let embedder = EmbeddingCache(base)
        let configuration = hnswConfiguration
        let semantic = SemanticCache(embedder: embedder, approximateIndex: { try HNSWIndex(dimension: $0, configuration: configuration) })
        let store = MemoryStore()
        let cache = LLMCache(store: store, semantic: semantic)
        let namespace = cache.configuration.namespace
        let stored = Self.distinct(data.pairs.map(\.textA))
        let storedSet = Set(stored)
        let clock = SystemCacheClock()
        for text in stored {
            let request = try Self.chat(text)
            guard let scope = SemanticScope(request: request, namespace: namespace), let vector = embedded[text] else { continue }
            let record = SemanticRecord(scope: scope.key, text: scope.text, embeddingModel: embedder.modelIdentifier, vector: vector)
            let entry = CacheEntry(
                key: cache.key(for: request), value: Data("A cached answer to: \(text)".utf8),
                namespace: namespace, model: "gpt-4o-mini", createdAt: clock.now(), semantic: record
            )
            try await store.set(entry)
        }
        let indexed = try await semantic.rebuild(from: store)
        var queries = Self.distinct(data.pairs.filter(\.duplicate).map(\.textB)).filter { !storedSet.contains($0) }
        queries = Array(queries.prefix(options.quick ? 40 : 400))
        progress("e2e: \(indexed) stored questions indexed, \(queries.count) paraphrases asked")

        // One call first, so one-time costs (metrics, first allocations) stay out.
        _ = try await cache.response(for: try Self.chat("What is a warm-up question?"), options: .init(store: false)) { Data() }
        var hitTimes: [Double] = [], hitCPU: [Double] = [], missTimes: [Double] = []
        var hitTexts: [String] = []
        for text in queries {
            let request = try Self.chat(text)
            let cpuStart = EmbedBench.processCPUMilliseconds()
            let start = ContinuousClock.now
            let response = try await cache.response(for: request, options: .init(store: false)) { Data("computed".utf8) }
            let elapsed = (ContinuousClock.now - start).milliseconds
            if case .semanticHit = response.source {
                hitTimes.append(elapsed)
                hitCPU.append(EmbedBench.processCPUMilliseconds() - cpuStart)
                hitTexts.append(text)
            } else {
                missTimes.append(elapsed)
            }
        }
        let counts = embedder.counts
        progress("  \(hitTimes.count) semantic hits, \(missTimes.count) misses; embedding cache \(counts.hits) hits, \(counts.misses) misses")
        guard !hitTimes.isEmpty else { return }
        var embedTimes: [Double] = []
        for text in hitTexts {
            let start = ContinuousClock.now
            _ = try await base.embed([text])
            embedTimes.append((ContinuousClock.now - start).milliseconds)
        }
        report.add("semantic.hit.e2e", Self.median(hitTimes), "ms")
        report.add("semantic.hit.e2e.p90", Self.percentile(hitTimes, 0.9), "ms")
        report.add("semantic.hit.e2e.cpu", Self.median(hitCPU), "ms")
        report.add("semantic.hit.e2e.embed", Self.median(embedTimes), "ms")
        if !missTimes.isEmpty { report.add("semantic.miss.e2e", Self.median(missTimes), "ms") }
    }

    // MARK: - Helpers

    static func chat(_ text: String) throws -> LLMRequest {
        try LLMRequest(.object([
            "model": .string("gpt-4o-mini"),
            "temperature": .number(JSONNumber(0)),
            "messages": .array([.object(["role": .string("user"), "content": .string(text)])]),
        ]))
    }

    static func distinct(_ texts: [String]) -> [String] {
        var seen = Set<String>()
        return texts.filter { seen.insert($0).inserted }
    }

    static func median(_ samples: [Double]) -> Double { percentile(samples, 0.5) }

    static func percentile(_ samples: [Double], _ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// MemAvailable from /proc/meminfo, in MB (10^6 bytes); 0 where there is none.
    static func availableMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return (line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0) * 1024 / 1e6
        }
        return 0
    }
}

/// Deterministic 384-d unit vectors in clusters, standing in for sentence
/// embeddings of many questions on fewer topics. Stored vector `i` is a pure
/// function of the seed and `i`, so a run of a million needs none kept.
struct ClusteredVectors {
    let dimension: Int
    let seed: UInt64
    private let centres: [Float]
    private let clusters: Int
    private var random: SplitMix64

    /// Noise length around a centre: members of one cluster have cosine ≈ 1 / (1 + 1²) = 0.5.
    static let clusterSpread: Float = 1.0
    /// Noise length of a paraphrase: cosine ≈ 1 / √(1 + 0.45²) ≈ 0.91 to its original.
    static let paraphraseSpread: Float = 0.45

    init(seed: UInt64, dimension: Int, clusters: Int) {
        self.dimension = dimension
        self.seed = seed
        self.clusters = clusters
        var random = SplitMix64(state: seed)
        var centres: [Float] = []
        centres.reserveCapacity(clusters * dimension)
        for _ in 0..<clusters { centres += Self.unit(Self.gaussians(dimension, &random)) }
        self.centres = centres
        self.random = SplitMix64(state: seed ^ 0x5eed)
    }

    /// Stored vector number `i`.
    func stored(_ i: Int) -> [Float] {
        var random = SplitMix64(state: seed &+ UInt64(i) &* 0x9e37_79b9_7f4a_7c15 ^ 0xdead_beef)
        let cluster = Int(random.next() % UInt64(clusters))
        return near(cluster: cluster, spread: Self.clusterSpread, &random)
    }

    /// A new question on one of the topics, not close to any stored one in particular.
    mutating func novel() -> [Float] {
        let cluster = Int(random.next() % UInt64(clusters))
        return near(cluster: cluster, spread: Self.clusterSpread, &random)
    }

    /// A rewording of `vector`.
    mutating func paraphrase(of vector: [Float]) -> [Float] {
        let noise = Self.gaussians(dimension, &random)
        let scale = Self.paraphraseSpread / Float(dimension).squareRoot()
        return Self.unit(zip(vector, noise).map { $0 + scale * $1 })
    }

    private func near(cluster: Int, spread: Float, _ random: inout SplitMix64) -> [Float] {
        let noise = Self.gaussians(dimension, &random)
        let scale = spread / Float(dimension).squareRoot()
        let base = cluster * dimension
        return Self.unit((0..<dimension).map { centres[base + $0] + scale * noise[$0] })
    }

    static func gaussians(_ count: Int, _ random: inout SplitMix64) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            // Box–Muller: two normal samples from two uniform ones.
            let u1 = max(Float(random.next() >> 40) / Float(1 << 24), .leastNormalMagnitude)
            let u2 = Float(random.next() >> 40) / Float(1 << 24)
            let r = (-2 * log(u1)).squareRoot()
            out[i] = r * cos(2 * .pi * u2)
            if i + 1 < count { out[i + 1] = r * sin(2 * .pi * u2) }
            i += 2
        }
        return out
    }

    static func unit(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }
}

/// The exact best similarity of each query over every vector offered, computed
/// a block of vectors at a time with one matrix product, so ground truth for a
/// million vectors costs seconds and keeps no vectors.
struct ExactTopOne {
    let dimension: Int
    let queryCount: Int
    private let queries: [Float]
    private var block: [Float] = []
    private var scores: [Float] = []
    private(set) var best: [Float]
    static let blockRows = 4096

    init(queries: [[Float]], dimension: Int) {
        self.dimension = dimension
        self.queryCount = queries.count
        self.queries = queries.flatMap { $0 }
        self.best = [Float](repeating: -2, count: queries.count)
        block.reserveCapacity(Self.blockRows * dimension)
        scores = [Float](repeating: 0, count: Self.blockRows * queries.count)
    }

    mutating func offer(_ vector: [Float]) {
        block += vector
        if block.count == Self.blockRows * dimension { flush() }
    }

    mutating func finish() { flush() }

    private mutating func flush() {
        let rows = block.count / dimension
        guard rows > 0 else { return }
        // scores (rows × queries) = block (rows × d) · queries(queries × d)ᵀ
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(queryCount), Int32(dimension),
            1, block, Int32(dimension), queries, Int32(dimension), 0, &scores, Int32(queryCount)
        )
        for r in 0..<rows {
            for q in 0..<queryCount where scores[r * queryCount + q] > best[q] {
                best[q] = scores[r * queryCount + q]
            }
        }
        block.removeAll(keepingCapacity: true)
    }
}

/// A mutex that escaping closures can share.
final class Locked<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}

fileprivate extension Duration {
    var milliseconds: Double { seconds * 1000 }
}
