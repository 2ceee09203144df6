import Foundation
import Testing
@testable import LLMCache

@Suite struct FingerprintTests {
    let fingerprint = Fingerprint()

    func key(_ json: String, namespace: String = "default") throws -> CacheKey {
        fingerprint.key(for: try LLMRequest(json: Array(json.utf8)), namespace: namespace)
    }

    func chat(_ extra: String = "", content: String = "Hello") -> String {
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(content)"}]\#(extra)}"#
    }

    @Test func delimiterCollisionOfNaiveKeysDoesNotHappen() throws {
        // md5(f"{prompt}:{model}") gives "a:b:c" for both of these.
        let first = try key(#"{"model":"c","messages":[{"role":"user","content":"a:b"}]}"#)
        let second = try key(#"{"model":"b:c","messages":[{"role":"user","content":"a"}]}"#)
        #expect(first != second)
        // Namespace and content cannot trade characters either.
        let third = try key(chat(content: "x"), namespace: "a\n")
        let fourth = try key(chat(content: "\\nx"), namespace: "a")
        #expect(third != fourth)
    }

    @Test("the endpoint is part of the key; chat completions keep the body's own key")
    func endpointInKey() throws {
        let body = Array(#"{"model":"m","prompt":"p","input":"p","messages":[{"role":"user","content":"p"}]}"#.utf8)
        let plain = try LLMRequest(json: body)
        let chat = try LLMRequest(json: body, endpoint: .chatCompletions)
        let completions = try LLMRequest(json: body, endpoint: .completions)
        let embeddings = try LLMRequest(json: body, endpoint: .embeddings)
        let keys = [chat, completions, embeddings].map { fingerprint.key(for: $0, namespace: "n") }
        #expect(Set(keys).count == 3)
        #expect(keys[0] == fingerprint.key(for: plain, namespace: "n"))
        #expect(completions != plain)
        // An endpoint path cannot be confused with a namespace's characters.
        let odd = try LLMRequest(json: body, endpoint: LLMRequest.Endpoint(path: "/completions"))
        #expect(fingerprint.key(for: odd, namespace: "n") == keys[1])
        #expect(fingerprint.key(for: completions, namespace: "n\n\"/completions\"") != fingerprint.key(for: plain, namespace: "n\n\"/completions\""))
    }

    @Test func memberOrderDoesNotMatter() throws {
        let a = try key(#"{"model":"gpt-4o","temperature":0.2,"messages":[{"role":"user","content":"Hi"}]}"#)
        let b = try key(#"{"messages":[{"content":"Hi","role":"user"}],"temperature":0.2,"model":"gpt-4o"}"#)
        #expect(a == b)
    }

    @Test func whitespaceAndEscapesThatMeanTheSameDoNotMatter() throws {
        let a = try key(chat(content: "A/B"))
        let b = try key(#"{ "model" : "gpt-4o", "messages" : [ { "role":"user", "content":"\u0041\/B" } ] }"#)
        #expect(a == b)
    }

    @Test(arguments: [("0.7", "0.70"), ("0.7", "7e-1"), ("0.7", "70E-2"), ("1", "1.0"), ("100", "1e2"), ("0", "-0.0")])
    func equalNumbersGiveEqualKeys(a: String, b: String) throws {
        #expect(try key(chat(",\"temperature\":\(a)")) == key(chat(",\"temperature\":\(b)")))
    }

    @Test func largeIntegersKeepEveryDigit() throws {
        // Beyond 2^53 these are the same Double but different seeds.
        #expect(try key(chat(",\"seed\":9007199254740993")) != key(chat(",\"seed\":9007199254740992")))
    }

    @Test(arguments: [
        (#","temperature":0.7"#, #","temperature":0.71"#),
        (#","seed":1"#, #","seed":2"#),
        (#","stop":["\n"]"#, #","stop":["\n\n"]"#),
        (#","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]"#,
         #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","required":["x"]}}}]"#),
        (#","tool_choice":"auto""#, #","tool_choice":"none""#),
        (#","response_format":{"type":"json_object"}"#, #","response_format":{"type":"text"}"#),
        (#","max_tokens":10"#, #","max_tokens":11"#),
        (#","n":1"#, #","n":2"#),
        (#","logit_bias":{"50256":-100}"#, #","logit_bias":{"50256":100}"#),
        (#","presence_penalty":0.5"#, #","frequency_penalty":0.5"#),
        (#","reasoning_effort":"low""#, #","reasoning_effort":"high""#),
    ])
    func everythingThatChangesTheAnswerChangesTheKey(a: String, b: String) throws {
        #expect(try key(chat(a)) != key(chat(b)))
        #expect(try key(chat(a)) != key(chat()))
    }

    @Test(arguments: [#","stream":true"#, #","stream":false,"stream_options":{"include_usage":true}"#, #","user":"alice""#])
    func fieldsThatNeverChangeTheAnswerAreIgnored(extra: String) throws {
        #expect(try key(chat(extra)) == key(chat()))
    }

    @Test func messagesChangeTheKeyByRoleContentNameAndToolCalls() throws {
        let base = #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#
        let variants = [
            #"{"model":"m","messages":[{"role":"system","content":"Hi"}]}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
            #"{"model":"m","messages":[{"role":"user","content":"Hi","name":"bob"}]}"#,
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}"#,
            #"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}"#,
            #"{"model":"m","messages":[{"role":"tool","content":"Hi","tool_call_id":"1"}]}"#,
        ]
        let keys = try Set(([base] + variants).map { try key($0) })
        #expect(keys.count == variants.count + 1)
    }

    @Test func namespaceChangesTheKey() throws {
        #expect(try key(chat(), namespace: "tenant-a") != key(chat(), namespace: "tenant-b"))
    }

    @Test func derivationIsStable() throws {
        // Keys outlive processes (SQLite, Redis): a change here strands every
        // stored entry, so it must come with a Fingerprint.version bump.
        let canonical = fingerprint.canonicalBytes(for: try LLMRequest(json: Array(chat(",\"temperature\":0.70,\"stream\":true").utf8)), namespace: "ns")
        #expect(String(decoding: canonical, as: UTF8.self) ==
            "llm-cache/v1\n\"ns\"\n{\"messages\":[{\"content\":\"Hello\",\"role\":\"user\"}],\"model\":\"gpt-4o\",\"temperature\":7e-1}")
        #expect(try key(chat(), namespace: "ns").hex == CacheKey(hashing: Array("llm-cache/v1\n\"ns\"\n{\"messages\":[{\"content\":\"Hello\",\"role\":\"user\"}],\"model\":\"gpt-4o\"}".utf8)).hex)
    }

    @Test(arguments: [
        ("[1,2]", "$"),
        (#"{"messages":[]}"#, "model"),
        (#"{"model":42}"#, "model"),
        (#"{"model":"m","temperature":"hot"}"#, "temperature"),
        (#"{"model":"m","temperature":1e999}"#, "temperature"),
        (#"{"model":"m","top_p":NaN}"#, "top_p"),
        (#"{"model":"m","temperature":-Infinity}"#, "temperature"),
        (#"{"model":"m","seed":1.5}"#, "seed"),
        (#"{"model":"m","messages":{"role":"user"}}"#, "messages"),
        (#"{"model":"m","messages":[{"content":"hi"}]}"#, "messages[0].role"),
        (#"{"model":"m","messages":[{"role":"user","content":5}]}"#, "messages[0].content"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}"#, "messages[0].content[0]"),
        (#"{"model":"m","stop":7}"#, "stop"),
        (#"{"model":"m","stop":["a",1]}"#, "stop[1]"),
        (#"{"model":"m","tools":{}}"#, "tools"),
        (#"{"model":"m","logit_bias":{"1":"x"}}"#, "logit_bias.1"),
        (#"{"model":"m","metadata":{"x":[1,2e400]}}"#, "metadata.x[1]"),
        (#"{"model":"m","model":"n"}"#, "model"),
        (#"{"model":"m","messages":[{"role":"user","content":"unterminated}]}"#, "messages[0].content"),
        ("", "$"),
    ])
    func badInputIsATypedErrorNamingTheField(json: String, field: String) {
        do {
            _ = try LLMRequest(json: Array(json.utf8))
            Issue.record("\(json) was accepted")
        } catch let error as CacheError {
            #expect(error.code == .invalidRequest)
            #expect(error.field == field, "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func invalidUTF8IsRejected() {
        let bytes: [UInt8] = Array(#"{"model":"m","messages":[{"role":"user","content":""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)
        #expect(throws: CacheError.self) { try LLMRequest(json: bytes) }
    }

    @Test func encodableRequestsFingerprintLikeTheirJSON() throws {
        struct Message: Encodable { var role: String; var content: String }
        struct Chat: Encodable { var model: String; var messages: [Message]; var temperature: Double }
        let typed = try LLMRequest(encoding: Chat(model: "gpt-4o", messages: [Message(role: "user", content: "Hello")], temperature: 0.5))
        #expect(fingerprint.key(for: typed, namespace: "default") == (try key(chat(",\"temperature\":0.5"))))
        #expect(throws: CacheError.self) {
            try LLMRequest(encoding: Chat(model: "gpt-4o", messages: [], temperature: .nan))
        }
    }

    @Test func lastUserTextReadsStringsAndTextParts() throws {
        let request = try LLMRequest(json: Array(#"{"model":"m","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}]}"#.utf8))
        #expect(request.lastUserText == "a\nb")
    }
}
