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
