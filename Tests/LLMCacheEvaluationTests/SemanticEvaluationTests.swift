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
}
