import Foundation
import LLMCache
import LLMCacheEvaluation
import Testing

@Suite struct SemanticEvaluationTests {
    let data = try! LabelledPairs(csv: """
    text_a,text_b,label
    "What is a cat, really?",What's a cat?,1
    What is a dog?,What's a cat?,0
    What is a dog?,Tell me about dogs,1
    Where is Paris?,Where is Rome?,0
    """)

    @Test func readsQuotedCSVAndTheQuoraHeader() throws {
        #expect(data.pairs.count == 4)
        #expect(data.pairs[0].textA == "What is a cat, really?")
        let quora = try LabelledPairs(csv: "question1,question2,is_duplicate\na,b,1\n")
        #expect(quora.pairs == [.init(textA: "a", textB: "b", duplicate: true)])
        #expect(throws: CacheError.self) { try LabelledPairs(csv: "x,y\n1,2\n") }
        #expect(throws: CacheError.self) { try LabelledPairs(csv: "text_a,text_b,label\na,b,maybe\n") }
    }

    @Test func pairwiseCountsOnlyVerifiedRowsAboveTheThreshold() async throws {
        let similarities: [Float] = [0.9, 0.85, 0.7, 0.95]
        let scores = try await SemanticEvaluation.pairwise(data, thresholds: [0.8], similarity: { similarities[$0] }, verified: { $0 != 3 })
        // Row 0 true positive, row 1 false positive, row 2 below threshold, row 3 rejected.
        #expect(scores[0].precision == 0.5)
        #expect(scores[0].recall == 0.5)
        #expect(scores[0].fpr == 0.5)
    }

    @Test func cacheModeTriesCandidatesInOrderUntilOnePassesVerification() async throws {
        let layout = SemanticEvaluation.cacheLayout(data)
        #expect(layout.cached == ["What is a cat, really?", "What is a dog?", "Where is Paris?"])
        #expect(layout.queries == ["What's a cat?", "Tell me about dogs", "Where is Rome?"])
        let candidates: [[(index: Int, similarity: Float)]] = [
            [(1, 0.95), (0, 0.9)],   // the wrong one first; verification rejects it
            [(1, 0.7)],              // below threshold
            [(2, 0.92)],             // a false hit
        ]
        let scores = try await SemanticEvaluation.cacheMode(layout, thresholds: [0.8], candidates: { candidates[$0] }, verified: { q, c in !(q == 0 && c == 1) })
        let s = scores[0]
        #expect(s.hit_rate == 2.0 / 3.0)
        #expect(s.precision == 0.5)
        #expect(s.recall == 0.5)
        #expect(s.false_hit_rate == 1)
    }

    /// Reference values of Wilson's 95% interval (as statsmodels'
    /// proportion_confint(method="wilson") gives them).
    @Test(arguments: [(8, 10, 0.4902, 0.9433), (0, 40, 0.0, 0.0876), (3, 40, 0.0258, 0.1989), (50, 50, 0.9287, 1.0)])
    func wilsonIntervals(_ successes: Int, _ trials: Int, _ low: Double, _ high: Double) {
        let interval = Interval(successes: successes, trials: trials)
        #expect(abs(interval.low - low) < 5e-4, "low \(interval.low)")
        #expect(abs(interval.high - high) < 5e-4, "high \(interval.high)")
    }

    @Test func noTrialsTellNothing() {
        #expect(Interval(successes: 0, trials: 0) == Interval(successes: 0, trials: 0))
        let none = Interval(successes: 0, trials: 0)
        #expect(none.low == 0 && none.high == 1)
    }

    @Test func scoresCarryTheirCountsAndIntervals() async throws {
        let similarities: [Float] = [0.9, 0.85, 0.7, 0.95]
        let score = try #require(try await SemanticEvaluation.pairwise(data, thresholds: [0.8], similarity: { similarities[$0] }, verified: { $0 != 3 }).first)
        #expect(score.true_positives == 1 && score.false_positives == 1 && score.positives == 2 && score.negatives == 2)
        #expect(score.precision_ci == Interval(successes: 1, trials: 2))
        #expect(score.fpr_ci == Interval(successes: 1, trials: 2))
    }

    @Test func aCategoryColumnIsReadAndScoredOnItsOwnRows() async throws {
        let data = try LabelledPairs(csv: """
        text_a,text_b,label,category
        Is the shop open?,Is the shop closed?,0,antonym
        Is the shop open?,Is the store open?,1,paraphrase
        How old is Rome?,How old is Paris?,0,entity
        How old is Rome?,What is the age of Rome?,1,
        """)
        #expect(data.categories == ["antonym", "paraphrase", "entity"])
        #expect(data.pairs[3].category == nil, "an empty cell is no category")
        // Every row above the threshold and verified: each trap is a false positive.
        let antonym = Set(data.pairs.indices.filter { data.pairs[$0].category == "antonym" })
        let score = try #require(try await SemanticEvaluation.pairwise(data, thresholds: [0.5], rows: antonym, similarity: { _ in 0.9 }, verified: { _ in true }).first)
        #expect(score.negatives == 1 && score.positives == 0 && score.fpr == 1)

        let layout = SemanticEvaluation.cacheLayout(data)
        #expect(layout.categories == ["antonym", "paraphrase", "entity", nil])
        let paraphrases = Set(layout.queries.indices.filter { layout.categories[$0] == "paraphrase" })
        let cache = try #require(try await SemanticEvaluation.cacheMode(layout, thresholds: [0.5], queries: paraphrases, candidates: { _ in [(0, 0.9)] }, verified: { _, _ in true }).first)
        #expect(cache.hits == 1 && cache.correct_hits == 1 && cache.without_duplicate == 0)
    }

    @Test func anErrorBudgetChoosesTheThresholdWithTheMostHitsWithinIt() {
        func score(_ t: Double, hits: Int, falseHits: Int) -> CacheModeScore {
            CacheModeScore(threshold: t, queries: 100, hits: hits, correctHits: hits - falseHits, withDuplicate: 50, withoutDuplicate: 50, falseHits: falseHits)
        }
        let scores = [score(0.80, hits: 60, falseHits: 10), score(0.85, hits: 45, falseHits: 2), score(0.88, hits: 45, falseHits: 1), score(0.90, hits: 30, falseHits: 0)]
        #expect(SemanticEvaluation.operatingPoint(scores, maximumWrong: 0.05)?.threshold == 0.88, "45 hits at 0.85 and 0.88: the stricter")
        #expect(SemanticEvaluation.operatingPoint(scores, maximumWrong: 0.2)?.threshold == 0.80)
        #expect(SemanticEvaluation.operatingPoint(scores, maximumWrong: 0)?.threshold == 0.90)
        #expect(SemanticEvaluation.operatingPoint([score(0.8, hits: 60, falseHits: 10)], maximumWrong: 0.01) == nil)
    }
}
