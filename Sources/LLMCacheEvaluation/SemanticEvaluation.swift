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

        public init(textA: String, textB: String, duplicate: Bool) {
            self.textA = textA
            self.textB = textB
            self.duplicate = duplicate
        }
    }

    public var pairs: [Pair]

    public init(pairs: [Pair]) { self.pairs = pairs }

    /// Reads CSV with a header of `text_a,text_b,label` or
    /// `question1,question2,is_duplicate` (RFC 4180 quoting).
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
            pairs.append(Pair(textA: row[a], textB: row[b], duplicate: value == "1"))
        }
        self.pairs = pairs
    }

    /// Every distinct text, in first-seen order: what needs embedding.
    public var distinctTexts: [String] {
        var seen = Set<String>()
        return pairs.flatMap { [$0.textA, $0.textB] }.filter { seen.insert($0).inserted }
    }
}

/// Scores at one threshold.
public struct PairwiseScore: Hashable, Sendable, Codable {
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var fpr: Double
}

/// Cache-mode scores at one threshold.
public struct CacheModeScore: Hashable, Sendable, Codable {
    public var threshold: Double
    public var hit_rate: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var false_hit_rate: Double
}

public enum SemanticEvaluation {
    /// Pairwise scores. `similarity(i)` and `verified(i)` describe row `i`.
    public static func pairwise(
        _ data: LabelledPairs,
        thresholds: [Double],
        similarity: (Int) -> Float,
        verified: (Int) async throws -> Bool
    ) async throws -> [PairwiseScore] {
        var verdicts: [Int: Bool] = [:]
        var scores: [PairwiseScore] = []
        for t in thresholds {
            var tp = 0, fp = 0, positives = 0, negatives = 0
            for (i, pair) in data.pairs.enumerated() {
                if pair.duplicate { positives += 1 } else { negatives += 1 }
                guard Double(similarity(i)) >= t else { continue }
                let ok: Bool
                if let known = verdicts[i] { ok = known } else { ok = try await verified(i); verdicts[i] = ok }
                guard ok else { continue }
                if pair.duplicate { tp += 1 } else { fp += 1 }
            }
            let precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
            let recall = positives == 0 ? 0 : Double(tp) / Double(positives)
            scores.append(PairwiseScore(
                threshold: t, precision: precision, recall: recall,
                f1: precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall),
                fpr: negatives == 0 ? 0 : Double(fp) / Double(negatives)
            ))
        }
        return scores
    }

    /// The cache-mode layout of `data`: cached texts, queries, and each query's duplicates.
    public struct CacheLayout: Sendable {
        public var cached: [String]
        public var queries: [String]
        /// For each query, the indexes in `cached` of its labelled duplicates.
        public var duplicates: [Set<Int>]
    }

    public static func cacheLayout(_ data: LabelledPairs) -> CacheLayout {
        var cached: [String] = [], cachedIndex: [String: Int] = [:]
        var queries: [String] = [], queryIndex: [String: Int] = [:]
        var duplicates: [Set<Int>] = []
        for pair in data.pairs {
            let a = cachedIndex[pair.textA] ?? {
                cachedIndex[pair.textA] = cached.count
                cached.append(pair.textA)
                return cached.count - 1
            }()
            let q = queryIndex[pair.textB] ?? {
                queryIndex[pair.textB] = queries.count
                queries.append(pair.textB)
                duplicates.append([])
                return queries.count - 1
            }()
            if pair.duplicate { duplicates[q].insert(a) }
        }
        return CacheLayout(cached: cached, queries: queries, duplicates: duplicates)
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
    public static func cacheMode(
        _ layout: CacheLayout,
        thresholds: [Double],
        ambiguity: SemanticCache.Ambiguity = .off,
        candidates: (Int) -> [(index: Int, similarity: Float)],
        verified: (_ query: Int, _ cached: Int) async throws -> Bool
    ) async throws -> [CacheModeScore] {
        var verdicts: [Int: [Int: Bool]] = [:]
        var scores: [CacheModeScore] = []
        for t in thresholds {
            var hits = 0, correct = 0, withDuplicate = 0, without = 0, falseHits = 0
            for q in layout.queries.indices {
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
            let precision = hits == 0 ? 0 : Double(correct) / Double(hits)
            let recall = withDuplicate == 0 ? 0 : Double(correct) / Double(withDuplicate)
            scores.append(CacheModeScore(
                threshold: t,
                hit_rate: layout.queries.isEmpty ? 0 : Double(hits) / Double(layout.queries.count),
                precision: precision, recall: recall,
                f1: precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall),
                false_hit_rate: without == 0 ? 0 : Double(falseHits) / Double(without)
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
