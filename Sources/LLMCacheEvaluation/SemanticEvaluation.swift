import Foundation
import LLMCache

/// Labelled text pairs and the one protocol by which semantic matching is scored,
/// used by `llm-cache eval-semantic` and the documentation's figures.
///
/// - Pairwise: a row is predicted "same meaning" when similarity ≥ t and every
///   verifier passes; precision, recall and false-positive rate against labels.
/// - Cache mode: the cache holds the distinct `textA` values, the queries are
///   the distinct `textB` values, and a query's duplicates are the `textA`
///   values it is labelled 1 with. A cached text identical to the query is left
///   out (the exact tier serves it). Candidates are tried in order of similarity
///   while ≥ t; the first that passes every verifier is the hit, correct when it
///   is one of the query's duplicates.
public struct LabelledPairs: Sendable {
    public struct Pair: Hashable, Sendable {
        public var textA: String
        public var textB: String
        public var duplicate: Bool
        /// The row's `category` column (a kind of pair: negation, number,
        /// paraphrase…), or `nil` when the file has none or the cell is empty.
        public var category: String?

        public init(textA: String, textB: String, duplicate: Bool, category: String? = nil) {
            self.textA = textA
            self.textB = textB
            self.duplicate = duplicate
            self.category = category
        }
    }

    public var pairs: [Pair]

    public init(pairs: [Pair]) { self.pairs = pairs }

    /// Reads CSV with a header of `text_a,text_b,label` or
    /// `question1,question2,is_duplicate` (RFC 4180 quoting), and an
    /// optional `category` column.
    public init(csv: String) throws {
        let rows = try CSV.parse(csv)
        guard let header = rows.first else { throw CacheError(.invalidArgument, "the pairs file is empty; it needs a header text_a,text_b,label") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ options: [String]) throws -> Int {
            guard let index = names.firstIndex(where: options.contains) else {
                throw CacheError(.invalidArgument, "the pairs file has no \(options.joined(separator: " or ")) column; its header is \(header.joined(separator: ","))")
            }
            return index
        }
        let a = try column(["text_a", "question1"]), b = try column(["text_b", "question2"]), label = try column(["label", "is_duplicate"])
        let category = names.firstIndex(of: "category")
        var pairs: [Pair] = []
        for (offset, row) in rows.dropFirst().enumerated() {
            if row.count == 1 && row[0].isEmpty { continue }
            guard row.count > max(a, b, label) else {
                throw CacheError(.invalidArgument, "row \(offset + 2) has \(row.count) columns, expected \(names.count)")
            }
            let value = row[label].trimmingCharacters(in: .whitespaces)
            guard value == "0" || value == "1" else {
                throw CacheError(.invalidArgument, "row \(offset + 2): label must be 0 or 1, got '\(value)'")
            }
            let kind = category.flatMap { $0 < row.count ? row[$0].trimmingCharacters(in: .whitespaces) : nil }
            pairs.append(Pair(textA: row[a], textB: row[b], duplicate: value == "1", category: kind?.isEmpty == false ? kind : nil))
        }
        self.pairs = pairs
    }

    /// The categories of the rows, in first-seen order; empty without a `category` column.
    public var categories: [String] {
        var seen = Set<String>()
        return pairs.compactMap(\.category).filter { seen.insert($0).inserted }
    }

    /// Every distinct text, in first-seen order: what needs embedding.
    public var distinctTexts: [String] {
        var seen = Set<String>()
        return pairs.flatMap { [$0.textA, $0.textB] }.filter { seen.insert($0).inserted }
    }
}

/// A 95% confidence interval for a proportion: Wilson's score interval,
/// which stays inside [0, 1] and is sound for small counts and proportions
/// near 0 or 1, where the normal approximation is not.
public struct Interval: Hashable, Sendable, Codable {
    public var low: Double
    public var high: Double

    /// The interval for `successes` out of `trials` at `z` standard
    /// deviations (1.96 for 95%); [0, 1] when there are no trials.
    public init(successes: Int, trials: Int, z: Double = 1.959964) {
        guard trials > 0 else {
            low = 0
            high = 1
            return
        }
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        low = max(0, centre - half)
        high = min(1, centre + half)
    }
}

/// Scores at one threshold, with the counts they come from and 95% Wilson intervals.
public struct PairwiseScore: Hashable, Sendable, Codable {
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var fpr: Double
    /// Duplicates predicted duplicates, and non-duplicates predicted duplicates.
    public var true_positives: Int
    public var false_positives: Int
    /// Rows labelled duplicates, and rows labelled not.
    public var positives: Int
    public var negatives: Int
    public var precision_ci: Interval
    public var recall_ci: Interval
    public var fpr_ci: Interval

    public init(threshold: Double, truePositives: Int, falsePositives: Int, positives: Int, negatives: Int) {
        let predicted = truePositives + falsePositives
        self.threshold = threshold
        precision = predicted == 0 ? 0 : Double(truePositives) / Double(predicted)
        recall = positives == 0 ? 0 : Double(truePositives) / Double(positives)
        f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        fpr = negatives == 0 ? 0 : Double(falsePositives) / Double(negatives)
        true_positives = truePositives
        false_positives = falsePositives
        self.positives = positives
        self.negatives = negatives
        precision_ci = Interval(successes: truePositives, trials: predicted)
        recall_ci = Interval(successes: truePositives, trials: positives)
        fpr_ci = Interval(successes: falsePositives, trials: negatives)
    }
}

/// Cache-mode scores at one threshold, with the counts they come from and 95% Wilson intervals.
public struct CacheModeScore: Hashable, Sendable, Codable {
    public var threshold: Double
    public var hit_rate: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var false_hit_rate: Double
    /// Queries answered from the cache, and those answered with one of their duplicates.
    public var hits: Int
    public var correct_hits: Int
    /// Queries with a duplicate in the cache, and queries without (where any hit is false).
    public var with_duplicate: Int
    public var without_duplicate: Int
    /// Hits among the queries without a duplicate.
    public var false_hits: Int
    public var precision_ci: Interval
    public var recall_ci: Interval
    public var false_hit_rate_ci: Interval

    public init(threshold: Double, queries: Int, hits: Int, correctHits: Int, withDuplicate: Int, withoutDuplicate: Int, falseHits: Int) {
        self.threshold = threshold
        hit_rate = queries == 0 ? 0 : Double(hits) / Double(queries)
        precision = hits == 0 ? 0 : Double(correctHits) / Double(hits)
        recall = withDuplicate == 0 ? 0 : Double(correctHits) / Double(withDuplicate)
        f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        false_hit_rate = withoutDuplicate == 0 ? 0 : Double(falseHits) / Double(withoutDuplicate)
        self.hits = hits
        correct_hits = correctHits
        with_duplicate = withDuplicate
        without_duplicate = withoutDuplicate
        false_hits = falseHits
        precision_ci = Interval(successes: correctHits, trials: hits)
        recall_ci = Interval(successes: correctHits, trials: withDuplicate)
        false_hit_rate_ci = Interval(successes: falseHits, trials: withoutDuplicate)
    }
}

public enum SemanticEvaluation {
    /// Pairwise scores. `similarity(i)` and `verified(i)` describe row `i`;
    /// `rows` limits the score to those rows (a category's), all by default.
    public static func pairwise(
        _ data: LabelledPairs,
        thresholds: [Double],
        rows: Set<Int>? = nil,
        similarity: (Int) -> Float,
        verified: (Int) async throws -> Bool
    ) async throws -> [PairwiseScore] {
        var verdicts: [Int: Bool] = [:]
        var scores: [PairwiseScore] = []
        for t in thresholds {
            var tp = 0, fp = 0, positives = 0, negatives = 0
            for (i, pair) in data.pairs.enumerated() where rows?.contains(i) ?? true {
                if pair.duplicate { positives += 1 } else { negatives += 1 }
                guard Double(similarity(i)) >= t else { continue }
                let ok: Bool
                if let known = verdicts[i] { ok = known } else { ok = try await verified(i); verdicts[i] = ok }
                guard ok else { continue }
                if pair.duplicate { tp += 1 } else { fp += 1 }
            }
            scores.append(PairwiseScore(threshold: t, truePositives: tp, falsePositives: fp, positives: positives, negatives: negatives))
        }
        return scores
    }

    /// The cache-mode layout of `data`: cached texts, queries, and each query's duplicates.
    public struct CacheLayout: Sendable {
        public var cached: [String]
        public var queries: [String]
        /// For each query, the category of the first row it appears in.
        public var categories: [String?] = []
        /// For each query, the indexes in `cached` of its labelled duplicates.
        public var duplicates: [Set<Int>]
    }

    /// The operating point for an error budget: of `scores`, the one with
    /// the most hits whose false-hit rate is at most `maximumWrong`, the
    /// highest threshold among equals; `nil` when none is (every threshold
    /// serves too many wrong answers on this data).
    public static func operatingPoint(_ scores: [CacheModeScore], maximumWrong: Double) -> CacheModeScore? {
        scores.filter { $0.false_hit_rate <= maximumWrong }.max { a, b in
            a.hits != b.hits ? a.hits < b.hits : a.threshold < b.threshold
        }
    }

    public static func cacheLayout(_ data: LabelledPairs) -> CacheLayout {
        var cached: [String] = [], cachedIndex: [String: Int] = [:]
        var queries: [String] = [], queryIndex: [String: Int] = [:]
        var duplicates: [Set<Int>] = []
        var categories: [String?] = []
        for pair in data.pairs {
            let a = cachedIndex[pair.textA] ?? {
                cachedIndex[pair.textA] = cached.count
                cached.append(pair.textA)
                return cached.count - 1
            }()
            let q = queryIndex[pair.textB] ?? {
                queryIndex[pair.textB] = queries.count
                queries.append(pair.textB)
                categories.append(pair.category)
                duplicates.append([])
                return queries.count - 1
            }()
            if pair.duplicate { duplicates[q].insert(a) }
        }
        return CacheLayout(cached: cached, queries: queries, categories: categories, duplicates: duplicates)
    }

    /// Cache-mode scores.
    ///
    /// - Parameters:
    ///   - candidates: for each query, cached indexes with their similarity,
    ///     most similar first, covering every candidate at or above the lowest
    ///     threshold and, when `ambiguity` has a margin, the rivals within that
    ///     margin below them.
    ///   - ambiguity: the rule ``SemanticCache`` applies; ``SemanticCache/Ambiguity/off`` for none.
    ///   - verified: whether cached text `c` passes every verifier for query `q`.
    ///   - queries: the queries to score (indexes into `layout.queries`); all by default.
    public static func cacheMode(
        _ layout: CacheLayout,
        thresholds: [Double],
        queries: Set<Int>? = nil,
        ambiguity: SemanticCache.Ambiguity = .off,
        candidates: (Int) -> [(index: Int, similarity: Float)],
        verified: (_ query: Int, _ cached: Int) async throws -> Bool
    ) async throws -> [CacheModeScore] {
        var verdicts: [Int: [Int: Bool]] = [:]
        var scores: [CacheModeScore] = []
        for t in thresholds {
            var hits = 0, correct = 0, withDuplicate = 0, without = 0, falseHits = 0, queryCount = 0
            for q in layout.queries.indices where queries?.contains(q) ?? true {
                queryCount += 1
                let identical = layout.cached.firstIndex(of: layout.queries[q])
                let duplicates = layout.duplicates[q].subtracting(identical.map { [$0] } ?? [])
                if duplicates.isEmpty { without += 1 } else { withDuplicate += 1 }
                let hit = try await ambiguity.choose(
                    candidates(q).filter { $0.index != identical }, threshold: Float(t)
                ) { c in
                    if let known = verdicts[q]?[c] { return known }
                    let ok = try await verified(q, c)
                    verdicts[q, default: [:]][c] = ok
                    return ok
                }
                guard let hit else { continue }
                hits += 1
                if duplicates.isEmpty { falseHits += 1 } else if duplicates.contains(hit.index) { correct += 1 }
            }
            scores.append(CacheModeScore(
                threshold: t, queries: queryCount, hits: hits, correctHits: correct,
                withDuplicate: withDuplicate, withoutDuplicate: without, falseHits: falseHits
            ))
        }
        return scores
    }
}

/// A small RFC 4180 CSV reader: quoted fields, doubled quotes, newlines in quotes.
enum CSV {
    static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = next() {
            if quoted {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = n }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: quoted = true
            case ",": row.append(field); field = ""
            case "\r": continue
            case "\n": row.append(field); rows.append(row); row = []; field = ""
            default: field.unicodeScalars.append(c)
            }
        }
        if quoted { throw CacheError(.invalidArgument, "the CSV ends inside a quoted field; a closing quote is missing") }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}
