import Foundation
import LLMCache
import LLMCacheAnthropic
import Testing

@Suite struct MessagesAPITests {
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    static func encoded(_ value: some Encodable) throws -> JSONValue {
        try JSONValue(parsing: Array(try JSONEncoder().encode(value)))
    }

    @Test func aCapturedMessageDecodes() throws {
        let message = try Self.decode(Message.self, Captured.plainMessage)
        #expect(message.id == "msg_014poUe6ukZsmrMtitD45q8K")
        #expect(message.model == "claude-sonnet-4-20250514")
        #expect(message.text == "Hello! Nice to meet you. How are you doing today? Is there anything I can help you with?")
        #expect(message.stopReason == "end_turn")
        #expect(message.stopSequence == nil)
        #expect(message.usage.inputTokens == 10)
        #expect(message.usage.outputTokens == 25)
        #expect(message.usage.cacheCreationInputTokens == 0)
        #expect(message.usage.cacheReadInputTokens == 0)
        #expect(message.usage.extra["service_tier"] == "standard")
        // Encoding gives back the same JSON.
        #expect(try Self.encoded(message) == (try JSONValue(parsing: Captured.plainMessage)))
    }

    @Test func contentBlocksHaveATypedViewAndUnknownOnesAreKept() throws {
        let thinking = try Self.decode(Message.self, MessagesStreamReplayTests.messages.first { $0.name == "thinking, text and tool use" }!.body)
        guard case .thinking(let block) = thinking.content.first else {
            Issue.record("expected a thinking block")
            return
        }
        #expect(block.signature.hasPrefix("ErUB"))
        #expect(thinking.text == "Let me look that up.")
        #expect(thinking.toolUses.map(\.name) == ["get_weather"])
        #expect(thinking.toolUses.first?.input == ["city": "Paris"])

        let searchBody = MessagesStreamReplayTests.messages.first { $0.name == "server tool use and web search results, cited" }!.body
        let search = try Self.decode(Message.self, searchBody)
        #expect(search.content.map(\.type) == ["text", "server_tool_use", "web_search_tool_result", "text", "text"])
        #expect(search.usage.extra["server_tool_use"] == ["web_search_requests": 1])
        guard case .text(let cited) = search.content[3] else {
            Issue.record("expected a text block")
            return
        }
        #expect(cited.citations?.count == 1)
        // `"citations": null` is not kept as null, so compare without it.
        var expected = try JSONValue(parsing: searchBody)
        if case .object(var fields) = expected, case .array(var content) = fields["content"], case .object(var last) = content.last {
            last["citations"] = nil
            content[content.count - 1] = .object(last)
            fields["content"] = .array(content)
            expected = .object(fields)
        }
        #expect(try Self.encoded(search) == expected)
    }

    @Test func aRequestEncodesInSnakeCaseAndKeepsExtraFields() throws {
        let request = MessagesRequest(
            model: "claude-sonnet-4-5",
            maxTokens: 1024,
            messages: [
                .user("What is the weather like in San Francisco?"),
                MessageParam(role: "assistant", content: .blocks([
                    .toolUse(ToolUseBlock(id: "toolu_01", name: "get_weather", input: ["location": "San Francisco, CA"])),
                ])),
                MessageParam(role: "user", content: .blocks([.toolResult(toolUseID: "toolu_01", content: "15 °C")])),
            ],
            system: .blocks([TextBlock("You are terse.", extra: ["cache_control": ["type": "ephemeral"]])]),
            tools: [
                ToolDefinition(
                    name: "get_weather",
                    description: "Get the current weather in a given location",
                    inputSchema: ["type": "object", "properties": ["location": ["type": "string"]], "required": ["location"]]
                ),
                ToolDefinition(name: "web_search", type: "web_search_20250305", extra: ["max_uses": 5]),
            ],
            toolChoice: .tool("get_weather"),
            thinking: .enabled(budgetTokens: 2048),
            stopSequences: ["\n\nHuman:"],
            temperature: 0.5,
            topK: 40,
            stream: true,
            metadata: .init(userID: "user-42"),
            extra: ["service_tier": "auto"]
        )
        let expected = try JSONValue(parsing: #"""
            {"model":"claude-sonnet-4-5","max_tokens":1024,
             "messages":[
               {"role":"user","content":"What is the weather like in San Francisco?"},
               {"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"location":"San Francisco, CA"}}]},
               {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"15 °C"}]}
             ],
             "system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
             "tools":[
               {"name":"get_weather","description":"Get the current weather in a given location","input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}},
               {"name":"web_search","type":"web_search_20250305","max_uses":5}
             ],
             "tool_choice":{"type":"tool","name":"get_weather"},
             "thinking":{"type":"enabled","budget_tokens":2048},
             "stop_sequences":["\n\nHuman:"],
             "temperature":0.5,"top_k":40,"stream":true,
             "metadata":{"user_id":"user-42"},
             "service_tier":"auto"}
            """#)
        #expect(try Self.encoded(request) == expected)
        // And a decoded request is the same request.
        #expect(try Self.decode(MessagesRequest.self, String(decoding: expected.jsonBytes, as: UTF8.self)) == request)
    }

    @Test func aRequestWithAStringSystemPromptDecodes() throws {
        let request = try Self.decode(
            MessagesRequest.self,
            #"{"model":"claude-haiku-4-5","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}"#
        )
        #expect(request.system == .text("Be brief."))
        guard case .blocks(let blocks) = request.messages.first?.content else {
            Issue.record("expected content blocks")
            return
        }
        #expect(blocks.map(\.type) == ["text", "image"])
        #expect(request.extra.isEmpty)
    }

    @Test(arguments: [
        (AnthropicErrorBody.Kind.invalidRequest, 400, "invalid_request_error"),
        (.requestTooLarge, 413, "request_too_large"),
        (.api, 500, "api_error"),
        (.timeout, 504, "timeout_error"),
        (.overloaded, 529, "overloaded_error"),
    ])
    func errorBodiesHaveAnthropicsShape(kind: AnthropicErrorBody.Kind, status: Int, type: String) throws {
        #expect(kind.status == status)
        let body = AnthropicErrorBody(kind: kind, message: "the body is not JSON")
        #expect(try JSONValue(parsing: body.bytes) == .object([
            "type": .string("error"),
            "error": .object(["type": .string(type), "message": .string("the body is not JSON")]),
        ]))
        #expect(AnthropicErrorBody(parsing: body.bytes) == body)
    }

    @Test func anErrorBodyCarriesTheRequestID() throws {
        let text = #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#
        let body = try #require(AnthropicErrorBody(parsing: Array(text.utf8)))
        #expect(body.kind == .notFound)
        #expect(body.requestID == "req_011CSHoEeqs5C35K2UUqR7Fy")
        #expect(try JSONValue(parsing: body.bytes) == (try JSONValue(parsing: text)))
        #expect(AnthropicErrorBody(parsing: Array(#"{"error":{"message":"x"}}"#.utf8)) == nil)
    }
}
