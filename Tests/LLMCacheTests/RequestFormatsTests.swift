import Testing
@testable import LLMCache

/// The Responses API and Anthropic's Messages API through the one request
/// model: what is in their keys and semantic scopes, and what is not.
@Suite struct RequestFormatsTests {
    let fingerprint = Fingerprint()

    func key(_ json: String, _ endpoint: LLMRequest.Endpoint) throws -> CacheKey {
        fingerprint.key(for: try LLMRequest(json: Array(json.utf8), endpoint: endpoint), namespace: "ns")
    }

    /// The key the tree-based path gives, which must be the one-pass key.
    func treeKey(_ json: String, _ endpoint: LLMRequest.Endpoint) throws -> CacheKey {
        fingerprint.key(for: try LLMRequest(try JSONValue(parsing: Array(json.utf8)), endpoint: endpoint), namespace: "ns")
    }

    static let messages = #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":[{"type":"text","text":"You are terse."}],"messages":[{"role":"user","content":[{"type":"text","text":"What is a cache?"}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}"#

    @Test("cache_control markers and metadata are out of an Anthropic request's key", arguments: [
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"What is a cache?"}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":[{"type":"text","text":"You are terse."}],"messages":[{"role":"user","content":[{"type":"text","text":"What is a cache?","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":[{"type":"text","text":"You are terse."}],"messages":[{"role":"user","content":[{"type":"text","text":"What is a cache?"}]}],"tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}]}"#,
        #"{"metadata":{"user_id":"u-42"},"model":"claude-sonnet-4-5","max_tokens":256,"system":[{"type":"text","text":"You are terse."}],"messages":[{"role":"user","content":[{"type":"text","text":"What is a cache?"}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"cache_control":{"type":"ephemeral"}}"#,
    ])
    func anthropicBillingHintsAreOutOfTheKey(json: String) throws {
        let expected = try key(Self.messages, .anthropicMessages)
        #expect(try key(json, .anthropicMessages) == expected)
        #expect(try treeKey(json, .anthropicMessages) == expected)
    }

    @Test("what changes an Anthropic answer is in its key", arguments: [
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are verbose.","messages":[{"role":"user","content":"What is a cache?"}]}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":512,"system":"You are terse.","messages":[{"role":"user","content":"What is a cache?"}]}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are terse.","messages":[{"role":"user","content":"What is a cache?"}],"top_k":5}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are terse.","messages":[{"role":"user","content":"What is a cache?"}],"stop_sequences":["END"]}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are terse.","messages":[{"role":"user","content":"What is a cache?"}],"thinking":{"type":"enabled","budget_tokens":1024}}"#,
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"What is a cache?"}]}"#,
    ])
    func anthropicAnswerFieldsAreInTheKey(json: String) throws {
        let base = #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"You are terse.","messages":[{"role":"user","content":"What is a cache?"}]}"#
        #expect(try key(json, .anthropicMessages) != key(base, .anthropicMessages))
    }

    @Test func theAnthropicAPIVersionIsInTheKey() throws {
        let body = Array(Self.messages.utf8)
        let plain = try LLMRequest(json: body, endpoint: .anthropicMessages.version("2023-06-01"))
        let beta = try LLMRequest(json: body, endpoint: .anthropicMessages.version("2023-06-01; beta=prompt-caching-2024-07-31"))
        let same = try LLMRequest(json: body, endpoint: .anthropicMessages.version("2023-06-01"))
        #expect(fingerprint.key(for: plain, namespace: "ns") != fingerprint.key(for: beta, namespace: "ns"))
        #expect(fingerprint.key(for: plain, namespace: "ns") == fingerprint.key(for: same, namespace: "ns"))
        #expect(fingerprint.key(for: plain, namespace: "ns") != fingerprint.key(for: try LLMRequest(json: body, endpoint: .anthropicMessages), namespace: "ns"))
    }

    @Test("an Anthropic request must say max_tokens and messages", arguments: [
        (#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#, "max_tokens", "max_tokens is required by the Messages API"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":10}"#, "messages", "messages is required"),
        (#"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[],"system":5}"#, "system", "system must be a string or an array of text blocks, got number"),
    ])
    func anthropicRequiredFields(json: String, field: String, message: String) {
        for attempt in [{ try LLMRequest(json: Array(json.utf8), endpoint: .anthropicMessages) }, { try LLMRequest(try JSONValue(parsing: json), endpoint: .anthropicMessages) }] {
            #expect {
                _ = try attempt()
            } throws: { error in
                guard let error = error as? CacheError else { return false }
                return error.field == field && error.message.hasPrefix(message)
            }
        }
        // The same body is a valid chat request: the schema is the endpoint's.
        #expect(throws: Never.self) { _ = try LLMRequest(json: Array(json.utf8), endpoint: .chatCompletions) }
    }

    @Test("a duplicate cache_control is refused, not silently dropped")
    func duplicateOmittedField() {
        let json = #"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{},"cache_control":{}}]}]}"#
        #expect(throws: CacheError.self) { _ = try LLMRequest(json: Array(json.utf8), endpoint: .anthropicMessages) }
    }

    static let responses = #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}]}"#

    @Test("fields that never change a Responses answer are out of its key", arguments: [
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"metadata":{"run":"7"}}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"store":true}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"stream":true,"stream_options":{"include_obfuscation":false}}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"user":"u1","safety_identifier":"s1"}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"prompt_cache_key":"tenant-7","prompt_cache_retention":"24h"}"#,
    ])
    func responsesBookkeepingIsOutOfTheKey(json: String) throws {
        let expected = try key(Self.responses, .responses)
        #expect(try key(json, .responses) == expected)
        #expect(try treeKey(json, .responses) == expected)
    }

    @Test("what changes a Responses answer is in its key", arguments: [
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"store":false}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"previous_response_id":"resp_1"}"#,
        #"{"model":"gpt-5-mini","instructions":"Be long.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}]}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"reasoning":{"effort":"high"}}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"text":{"format":{"type":"json_object"}}}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"include":["reasoning.encrypted_content"]}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"tools":[{"type":"web_search"}],"tool_choice":"required"}"#,
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"What is a cache?"}]}],"max_output_tokens":50}"#,
    ])
    func responsesAnswerFieldsAreInTheKey(json: String) throws {
        #expect(try key(json, .responses) != key(Self.responses, .responses))
    }

    @Test func theSameBodyOnTwoAPIsHasTwoKeys() throws {
        let body = #"{"model":"m","input":"hi","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
        let keys = try [LLMRequest.Endpoint.chatCompletions, .embeddings, .responses, .anthropicMessages].map { try key(body, $0) }
        #expect(Set(keys).count == 4)
    }

    @Test func theLastUserInputIsMatchedByMeaning() throws {
        let string = try LLMRequest(json: Array(#"{"model":"m","input":"Is water wet?"}"#.utf8), endpoint: .responses)
        #expect(string.lastUserText == "Is water wet?")
        let items = try LLMRequest(json: Array(#"{"model":"m","input":[{"role":"user","content":"first"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]},{"type":"message","role":"user","content":[{"type":"input_text","text":"Is water"},{"type":"input_image","image_url":"https://x/y.png"},{"type":"input_text","text":"wet?"}]}]}"#.utf8), endpoint: .responses)
        #expect(items.lastUserText == "Is water\nwet?")
        let anthropic = try LLMRequest(json: Array(#"{"model":"m","max_tokens":9,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"Is water wet?"}]}]}"#.utf8), endpoint: .anthropicMessages)
        #expect(anthropic.lastUserText == "Is water wet?")
    }

    @Test func semanticScopesKeepEverythingButTheLastUserText() throws {
        func scope(_ json: String, _ endpoint: LLMRequest.Endpoint) throws -> SemanticScope? {
            SemanticScope(request: try LLMRequest(json: Array(json.utf8), endpoint: endpoint), namespace: "ns")
        }
        let a = try #require(try scope(#"{"model":"m","instructions":"Be brief.","input":"How do I reset my password?"}"#, .responses))
        let b = try #require(try scope(#"{"model":"m","instructions":"Be brief.","input":"How can I reset my password?","metadata":{"x":"1"}}"#, .responses))
        let c = try #require(try scope(#"{"model":"m","instructions":"Be long.","input":"How do I reset my password?"}"#, .responses))
        #expect(a.key == b.key && a.text == "How do I reset my password?" && b.text == "How can I reset my password?")
        #expect(a.key != c.key)
        let chain = try #require(try scope(#"{"model":"m","instructions":"Be brief.","input":"How do I reset my password?","previous_response_id":"resp_9"}"#, .responses))
        #expect(chain.key != a.key)

        let m1 = try #require(try scope(#"{"model":"m","max_tokens":9,"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"How do I reset my password?"}]}"#, .anthropicMessages))
        let m2 = try #require(try scope(#"{"model":"m","max_tokens":9,"system":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":"How can I reset my password?"}]}"#, .anthropicMessages))
        let m3 = try #require(try scope(#"{"model":"m","max_tokens":9,"system":"Other","messages":[{"role":"user","content":"How can I reset my password?"}]}"#, .anthropicMessages))
        #expect(m1.key == m2.key && m1.key != m3.key)
        // A turn of tool results only has no text to match.
        #expect(try scope(#"{"model":"m","max_tokens":9,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42"}]}]}"#, .anthropicMessages) == nil)
        // Nor does an embeddings request.
        #expect(try scope(#"{"model":"m","input":"hi"}"#, .embeddings) == nil)
    }

    @Test("chat requests leave provider prompt-cache hints out too")
    func chatPromptCacheHints() throws {
        let base = #"{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#
        let hinted = #"{"model":"gpt-4o","prompt_cache_key":"k","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#
        #expect(try key(base, .chatCompletions) == key(hinted, .chatCompletions))
        #expect(try treeKey(hinted, .chatCompletions) == key(base, .chatCompletions))
    }
}
