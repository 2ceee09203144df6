import ArgumentParser
import CBLAS
import Foundation
import LLMCache
import LLMCacheEmbeddings
import LLMCacheEvaluation

struct EvalSemanticCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-semantic",
        abstract: "Score semantic matching on labelled pairs: precision, recall, F1, hit and false-hit rates per threshold.",
        discussion: """
            PAIRS.csv has a header text_a,text_b,label (or question1,question2,is_duplicate). \
            Pairwise: a row is predicted a duplicate when cosine ≥ T and every verifier passes. \
            Cache mode: the distinct text_a are cached, the distinct text_b are queries; \
            candidates are tried in order of similarity while ≥ T and the first that passes \
            the verifiers is the hit, unless the next candidate that passes them is within the \
            ambiguity margin (then the query is a miss); a hit is correct when labelled a \
            duplicate of the query. Use it to choose a threshold on your own traffic. \
            Every rate comes with its 95% Wilson interval, which says how far the data can be \
            trusted: 3 false hits among 40 traps is 0.075 [0.026, 0.199]. A category column, \
            when the file has one, adds a row per category at the chosen threshold. \
            --max-wrong P chooses the threshold with the most hits whose cache-mode false-hit \
            rate on this data is at most P.
            """
    )

    @Argument(help: "The labelled pairs (CSV).")
    var pairs: String

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(name: .customLong("threshold"), help: "A threshold to score (cosine, -1...1); repeat for several. Default: 0.70 to 0.95 in steps of 0.05.")
    var thresholds: [Double] = []

    @Option(help: "An error budget: choose the threshold with the most cache-mode hits whose false-hit rate on this data is at most P (0...1), from thresholds 0.70 to 0.99 in steps of 0.01 unless --threshold gives others.")
    var maxWrong: Double?

    @Flag(help: "Score plain cosine similarity, without verifiers or the ambiguity rule.")
    var noVerify = false

    @Option(help: "How far the best verified candidate must lead the next one to be served (cosine; 0 turns the rule off). Default: the semantic cache's, 0.04.")
    var ambiguityMargin: Float?

    @Option(help: "At or above this similarity a candidate is served however close the next one is. Default: the semantic cache's, 0.95.")
    var decisiveSimilarity: Float?

    @Option(help: "Comma-separated verifiers to use (numbers, negation, antonyms, entities). Default: all.")
    var verifiers: String?

    @Option(help: "The model folder (default: where the model is installed).")
    var modelDir: String?

    @Option(help: "Print this many wrong cache-mode hits at the default threshold, with the verdicts, to see what slips through.")
    var showErrors = 0

    @Option(help: ArgumentHelp("Keep the embeddings in this file and reuse them on later runs over the same texts.", visibility: .hidden))
    var vectorsFile: String?

    func validate() throws {
        if let ambiguityMargin, !(0...2).contains(ambiguityMargin) {
            throw ValidationError("--ambiguity-margin must be between 0 (no rule) and 2, a difference of cosines; got \(ambiguityMargin)")
        }
        if let maxWrong, !(0...1).contains(maxWrong) {
            throw ValidationError("--max-wrong is a false-hit rate, between 0 and 1 (0.03 for 3%); got \(maxWrong)")
        }
        if let decisiveSimilarity, !(-1...1).contains(decisiveSimilarity) {
            throw ValidationError("--decisive-similarity is a cosine, between -1 and 1; got \(decisiveSimilarity)")
        }
    }

    func run() async throws {
        guard let text = try? String(contentsOfFile: pairs, encoding: .utf8) else {
            throw CacheError(.invalidArgument, "cannot read \(pairs)")
        }
        let data = try LabelledPairs(csv: text)
        guard !data.pairs.isEmpty else { throw CacheError(.invalidArgument, "\(pairs) has no rows") }
        let chosen = try selectedVerifiers()
        let ambiguity = selectedAmbiguity()
        let sweep: [Double] = if !thresholds.isEmpty {
            thresholds.sorted()
        } else if maxWrong != nil {
            (70...99).map { Double($0) / 100 }
        } else {
            [0.70, 0.75, 0.80, 0.85, 0.90, 0.95]
        }

        let model = try MiniLMEmbedder(directory: modelDir)
        let texts = data.distinctTexts
        progress("embedding \(texts.count) distinct texts with \(model.modelIdentifier)…")
        var vectors: [String: [Float]] = [:]
        if let vectorsFile, let saved = FileManager.default.contents(atPath: vectorsFile) {
            let floats = saved.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            if floats.count == texts.count * model.dimension {
                for (i, t) in texts.enumerated() { vectors[t] = Array(floats[i * model.dimension..<(i + 1) * model.dimension]) }
            }
        }
        for start in stride(from: 0, to: vectors.isEmpty ? texts.count : 0, by: 512) {
            let slice = Array(texts[start..<min(start + 512, texts.count)])
            let batch = try await model.embed(slice)
            for (i, t) in slice.enumerated() { vectors[t] = batch[i] }
            if texts.count > 2048 { progress("embedded \(min(start + 512, texts.count))/\(texts.count)") }
        }

        if let vectorsFile, !FileManager.default.fileExists(atPath: vectorsFile) {
            let all = texts.flatMap { vectors[$0]! }
            // Only a saving for the next run: failing to write it costs time, not results.
            do {
                try all.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: vectorsFile))
            } catch {
                progress("could not keep the embeddings in \(vectorsFile): \(error)")
            }
        }

        func verify(_ query: String, _ candidate: String, _ similarity: Float) async throws -> Bool {
            for verifier in chosen where !(try await verifier.verify(query: query, candidate: candidate, similarity: similarity).accepted) {
                return false
            }
            return true
        }

        let similarities = data.pairs.map { dot(vectors[$0.textA]!, vectors[$0.textB]!) }
        let pairwise = try await SemanticEvaluation.pairwise(data, thresholds: sweep, similarity: { similarities[$0] }) { i in
            try await verify(data.pairs[i].textB, data.pairs[i].textA, similarities[i])
        }

        let layout = SemanticEvaluation.cacheLayout(data)
        // Rivals up to the margin below the lowest threshold decide ambiguity.
        let candidates = topCandidates(layout, vectors: vectors, minimum: Float(sweep.first!) - ambiguity.margin, k: 25)
        func verifyCached(_ q: Int, _ c: Int) async throws -> Bool {
            try await verify(layout.queries[q], layout.cached[c], dot(vectors[layout.queries[q]]!, vectors[layout.cached[c]]!))
        }
        let cache = try await SemanticEvaluation.cacheMode(layout, thresholds: sweep, ambiguity: ambiguity, candidates: { candidates[$0] }, verified: verifyCached)

        let defaultThreshold = Double(SemanticCache.Configuration().threshold)
        let operatingPoint = maxWrong.flatMap { SemanticEvaluation.operatingPoint(cache, maximumWrong: $0) }
        // The threshold the per-category rows are scored at: the budget's
        // choice, the one threshold asked for, or the cache's default.
        let focus = operatingPoint?.threshold ?? (sweep.count == 1 ? sweep[0] : defaultThreshold)
        struct CategoryScore: Encodable {
            var category: String
            var pairwise: PairwiseScore
            var cache: CacheModeScore
        }
        var categoryScores: [CategoryScore] = []
        for category in data.categories {
            let rows = Set(data.pairs.indices.filter { data.pairs[$0].category == category })
            let queries = Set(layout.queries.indices.filter { layout.categories[$0] == category })
            let pairScore = try await SemanticEvaluation.pairwise(data, thresholds: [focus], rows: rows, similarity: { similarities[$0] }) { i in
                try await verify(data.pairs[i].textB, data.pairs[i].textA, similarities[i])
            }
            let cacheScore = try await SemanticEvaluation.cacheMode(layout, thresholds: [focus], queries: queries, ambiguity: ambiguity, candidates: { candidates[$0] }, verified: verifyCached)
            categoryScores.append(CategoryScore(category: category, pairwise: pairScore[0], cache: cacheScore[0]))
        }

        if showErrors > 0 {
            var shown = 0
            for q in layout.queries.indices where shown < showErrors {
                let identical = layout.cached.firstIndex(of: layout.queries[q])
                let hit = try await ambiguity.choose(
                    candidates[q].filter { $0.index != identical }, threshold: Float(defaultThreshold)
                ) { try await verifyCached(q, $0) }
                if let hit, !layout.duplicates[q].contains(hit.index) {
                    print(String(format: "%.3f", hit.similarity), layout.queries[q], "=>", layout.cached[hit.index], separator: " | ")
                    shown += 1
                }
            }
        }
        if json {
            struct Output: Encodable {
                var model: String
                var verifiers: [String]
                var ambiguity_margin: Float
                var decisive_similarity: Float
                var pairwise: [PairwiseScore]
                var cache: [CacheModeScore]
                var default_threshold: Double
                var max_wrong: Double?
                /// `null` when no threshold keeps to --max-wrong.
                var operating_point: CacheModeScore?
                var categories: [CategoryScore]
                var categories_threshold: Double?
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let output = Output(model: model.modelIdentifier, verifiers: chosen.map(\.name),
                                ambiguity_margin: ambiguity.margin, decisive_similarity: ambiguity.decisiveSimilarity, pairwise: pairwise, cache: cache, default_threshold: defaultThreshold,
                                max_wrong: maxWrong, operating_point: operatingPoint, categories: categoryScores, categories_threshold: categoryScores.isEmpty ? nil : focus)
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
            return
        }
        print("\(pairs): \(data.pairs.count) pairs, \(data.pairs.filter(\.duplicate).count) duplicates; model \(model.modelIdentifier)")
        print("verifiers: \(chosen.isEmpty ? "none" : chosen.map(\.name).joined(separator: ", "))   default threshold \(defaultThreshold)")
        print(ambiguity.margin > 0
            ? String(format: "cache mode: a hit needs a lead of %.3f over the next verified candidate, below similarity %.3f", ambiguity.margin, ambiguity.decisiveSimilarity)
            : "cache mode: no ambiguity rule")
        print("\n95% Wilson intervals in brackets")
        print("pairwise     precision             recall                f1      fpr")
        for s in pairwise {
            print(String(format: "  t=%.3f    ", s.threshold) + Self.rate(s.precision, s.precision_ci) + "  " + Self.rate(s.recall, s.recall_ci)
                + String(format: "  %.3f   ", s.f1) + Self.rate(s.fpr, s.fpr_ci))
        }
        print("\ncache mode   hit rate   precision             recall                f1      false-hit rate")
        for s in cache {
            print(String(format: "  t=%.3f    %.3f      ", s.threshold, s.hit_rate) + Self.rate(s.precision, s.precision_ci) + "  " + Self.rate(s.recall, s.recall_ci)
                + String(format: "  %.3f   ", s.f1) + Self.rate(s.false_hit_rate, s.false_hit_rate_ci))
        }
        if let maxWrong {
            if let point = operatingPoint {
                print(String(format: "\n--max-wrong %.3f: threshold %.2f, %d hits of %d queries, false-hit rate ", maxWrong, point.threshold, point.hits, layout.queries.count)
                    + Self.rate(point.false_hit_rate, point.false_hit_rate_ci)
                    + String(format: " (%d of %d queries without a duplicate)", point.false_hits, point.without_duplicate))
                if point.false_hit_rate_ci.high > maxWrong {
                    print(String(format: "  the interval reaches %.3f: this data cannot show the budget is kept; more labelled traps would", point.false_hit_rate_ci.high))
                }
            } else {
                print(String(format: "\n--max-wrong %.3f: no threshold scored keeps the false-hit rate that low on this data", maxWrong))
            }
        }
        if !categoryScores.isEmpty {
            print(String(format: "\nby category at t=%.2f    pairs  pairwise recall         pairwise fpr            cache false-hit rate", focus))
            for row in categoryScores {
                let name = row.category.count > 22 ? String(row.category.prefix(21)) + "…" : row.category.padding(toLength: 22, withPad: " ", startingAt: 0)
                print("  " + name + String(format: "  %5d  ", row.pairwise.positives + row.pairwise.negatives)
                    + Self.rate(row.pairwise.recall, row.pairwise.recall_ci) + "  " + Self.rate(row.pairwise.fpr, row.pairwise.fpr_ci)
                    + "  " + Self.rate(row.cache.false_hit_rate, row.cache.false_hit_rate_ci))
            }
        }
    }

    /// `0.912 [0.830, 0.957]`.
    static func rate(_ value: Double, _ interval: Interval) -> String {
        String(format: "%.3f [%.3f, %.3f]", value, interval.low, interval.high)
    }

    func selectedAmbiguity() -> SemanticCache.Ambiguity {
        if noVerify { return .off }
        let standard = SemanticCache.Configuration().ambiguity
        return SemanticCache.Ambiguity(
            margin: ambiguityMargin ?? standard.margin,
            decisiveSimilarity: decisiveSimilarity ?? standard.decisiveSimilarity
        )
    }

    func selectedVerifiers() throws -> [any SemanticVerifier] {
        if noVerify { return [] }
        guard let verifiers else { return TextVerifiers.standard }
        let all = Dictionary(uniqueKeysWithValues: TextVerifiers.standard.map { ($0.name, $0) })
        return try verifiers.split(separator: ",").map { name in
            let key = name.trimmingCharacters(in: .whitespaces)
            guard let verifier = all[key] else {
                throw ValidationError("unknown verifier '\(key)'; choose from \(all.keys.sorted().joined(separator: ", "))")
            }
            return verifier
        }
    }

    /// For each query, the k most similar cached texts at or above `minimum`,
    /// most similar first: one matrix product per block of queries.
    func topCandidates(_ layout: SemanticEvaluation.CacheLayout, vectors: [String: [Float]], minimum: Float, k: Int) -> [[(index: Int, similarity: Float)]] {
        let d = vectors.values.first?.count ?? 0
        let cached = layout.cached.flatMap { vectors[$0]! }
        var result: [[(index: Int, similarity: Float)]] = []
        let block = 256
        var scores = [Float](repeating: 0, count: block * layout.cached.count)
        for start in stride(from: 0, to: layout.queries.count, by: block) {
            let end = min(start + block, layout.queries.count)
            let queries = layout.queries[start..<end].flatMap { vectors[$0]! }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(end - start), Int32(layout.cached.count), Int32(d), 1,
                        queries, Int32(d), cached, Int32(d), 0, &scores, Int32(layout.cached.count))
            for q in 0..<(end - start) {
                var best: [(index: Int, similarity: Float)] = []
                for c in 0..<layout.cached.count {
                    let s = scores[q * layout.cached.count + c]
                    guard s >= minimum else { continue }
                    best.append((c, s))
                }
                best.sort { $0.similarity > $1.similarity }
                result.append(Array(best.prefix(k)))
            }
        }
        return result
    }
}

func dot(_ a: [Float], _ b: [Float]) -> Float {
    var sum: Float = 0
    for i in a.indices { sum += a[i] * b[i] }
    return sum
}
