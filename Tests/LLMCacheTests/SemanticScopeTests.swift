import Foundation
import Testing
@testable import LLMCache

@Suite struct SemanticScopeTests {
    func scope(_ json: String, namespace: String = "default", turns: Int = 1) throws -> SemanticScope? {
        SemanticScope(request: try LLMRequest(json: Array(json.utf8)), namespace: namespace, turns: turns)
    }

    let system = #"{"role":"system","content":"Be brief."}"#

    @Test func onlyTheLastUserTurnDiffersBetweenCandidates() throws {
        let a = try #require(try scope(#"{"model":"m","temperature":0,"messages":[\#(system),{"role":"user","content":"What is the capital of France?"}]}"#))
        let b = try #require(try scope(#"{"model":"m","temperature":0,"stream":true,"messages":[\#(system),{"role":"user","content":"France's capital city?"}]}"#))
        #expect(a.key == b.key)
        #expect(a.text == "What is the capital of France?")
    }

    @Test(arguments: [
        #"{"model":"other","temperature":0,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Q"}]}"#,
        #"{"model":"m","temperature":0.5,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Q"}]}"#,
        #"{"model":"m","temperature":0,"messages":[{"role":"system","content":"Be long."},{"role":"user","content":"Q"}]}"#,
        #"{"model":"m","temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Q"}]}"#,
        #"{"model":"m","temperature":0,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"earlier"},{"role":"assistant","content":"ok"},{"role":"user","content":"Q"}]}"#,
        #"{"model":"m","temperature":0,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Q"},{"type":"image_url","image_url":{"url":"http://x/1.png"}}]}]}"#,
    ])
    func everythingButTheMatchedTextSeparatesScopes(other: String) throws {
        let base = try #require(try scope(#"{"model":"m","temperature":0,"messages":[\#(system),{"role":"user","content":"Q"}]}"#))
        let changed = try #require(try scope(other))
        #expect(base.key != changed.key)
    }

    @Test func namespacesAndTurnCountsSeparateScopes() throws {
        let json = #"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}"#
        #expect(try scope(json, namespace: "x")!.key != scope(json, namespace: "y")!.key)
        let two = try #require(try scope(json, turns: 2))
        #expect(two.text == "a\nc")
        #expect(two.key != (try scope(json, turns: 1))!.key)
    }

    @Test func requestsWithNothingToMatchHaveNoScope() throws {
        #expect(try scope(#"{"model":"m","input":["embed me"]}"#) == nil)
        #expect(try scope(#"{"model":"m","messages":[{"role":"system","content":"only system"}]}"#) == nil)
        #expect(try scope(#"{"model":"m","messages":[{"role":"user","content":"   "}]}"#) == nil)
        #expect(try scope(#"{"model":"m","prompt":"Complete this"}"#)?.text == "Complete this")
    }
}

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
