import Foundation
import LLMCache
import LLMCacheOpenAI
import Testing

@Suite struct ResponsesAPITests {
    /// A live `POST /v1/responses` answer (gpt-4o-mini), as recorded in
    /// openai/openai-python, tests/lib/responses/test_responses.py,
    /// `test_output_text` ("auto-generated from the live API").
    static let liveResponse = #"{"id": "resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b", "object": "response", "created_at": 1754925861, "status": "completed", "background": false, "error": null, "incomplete_details": null, "instructions": null, "max_output_tokens": null, "max_tool_calls": null, "model": "gpt-4o-mini-2024-07-18", "output": [{"id": "msg_689a0b2637b08193ac478e568f49e3f900b2e36c65a1fd4b", "type": "message", "status": "completed", "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "I can't provide real-time updates, but you can easily check the current weather in San Francisco using a weather website or app. Typically, San Francisco has cool, foggy summers and mild winters, so it's good to be prepared for variable weather!"}], "role": "assistant"}], "parallel_tool_calls": true, "previous_response_id": null, "prompt_cache_key": null, "reasoning": {"effort": null, "summary": null}, "safety_identifier": null, "service_tier": "default", "store": true, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled", "usage": {"input_tokens": 14, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 64}, "user": null, "metadata": {}}"#

    static func decode(_ text: String) throws -> ResponseObject {
        try JSONDecoder().decode(ResponseObject.self, from: Data(text.utf8))
    }

    @Test func aLiveResponseDecodes() throws {
        let response = try Self.decode(Self.liveResponse)
        #expect(response.id == "resp_689a0b2545288193953c892439b42e2800b2e36c65a1fd4b")
        #expect(response.object == "response")
        #expect(response.createdAt == 1_754_925_861)
        #expect(response.status == "completed")
        #expect(response.model == "gpt-4o-mini-2024-07-18")
        #expect(response.outputText.hasPrefix("I can't provide real-time updates"))
        #expect(response.usage == ResponseUsage(
            inputTokens: 14, outputTokens: 50, totalTokens: 64,
            inputTokensDetails: .init(cachedTokens: 0), outputTokensDetails: .init(reasoningTokens: 0)
        ))
        guard case .message(let message)? = response.output.first else {
            Issue.record("the first item is not a message: \(response.output)")
            return
        }
        #expect(message.id == "msg_689a0b2637b08193ac478e568f49e3f900b2e36c65a1fd4b")
        #expect(message.role == "assistant")
        #expect(message.content.first?.annotations == [])
        #expect(message.content.first?.extra["logprobs"] == OpenAIJSON(.array([])))
        #expect(response.extra["service_tier"] == "default")
        #expect(response.incompleteDetails == OpenAIJSON(.null))
    }

    @Test func aDecodedResponseEncodesBackWhole() throws {
        let response = try Self.decode(Self.liveResponse)
        #expect(try encoded(response) == (try json(Self.liveResponse)))
    }

    @Test func theStreamsCompletedResponseDecodesWithItsReasoning() throws {
        let completed = try CapturedResponses.payload(of: "response.completed", in: CapturedResponses.reasoningStream)
        let body = try #require(completed["response"])
        let response = try JSONDecoder().decode(ResponseObject.self, from: Data(body.jsonBytes))
        #expect(response.output.map(\.type) == ["reasoning", "message"])
        guard case .reasoning(let reasoning) = response.output[0] else {
            Issue.record("not a reasoning item: \(response.output[0])")
            return
        }
        #expect(reasoning.summary == [.init(text: "**Calculating a simple sum**")])
        #expect(reasoning.status == nil)
        #expect(response.usage?.outputTokensDetails?.reasoningTokens == 64)
        #expect(try encoded(response) == body)
    }

    @Test func functionCallsAndUnknownItemsAreKept() throws {
        let text = #"{"id":"resp_2","object":"response","created_at":1741476777,"status":"completed","model":"gpt-4.1-2025-04-14","output":[{"id":"ws_1","type":"web_search_call","status":"completed","action":{"type":"search","query":"weather paris"}},{"id":"rs_1","type":"reasoning","summary":[],"encrypted_content":"gAAAAB-opaque"},{"type":"function_call","id":"fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0","call_id":"call_unLAR8MvFNptuiZK6K6HCy5k","name":"get_current_weather","arguments":"{\"location\":\"Boston, MA\",\"unit\":\"celsius\"}","status":"completed"},{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"No."},{"type":"output_text","text":"Part one. ","annotations":[]},{"type":"output_text","text":"Part two.","annotations":[{"type":"url_citation","start_index":0,"end_index":4,"url":"https://example.com","title":"Example"}]}]}],"usage":{"input_tokens":291,"output_tokens":23,"total_tokens":314}}"#
        let response = try Self.decode(text)
        #expect(response.output.map(\.type) == ["web_search_call", "reasoning", "function_call", "message"])
        guard case .other(let search) = response.output[0] else {
            Issue.record("web_search_call should be kept as it came")
            return
        }
        #expect(search.value["action"]?["query"] == .string("weather paris"))
        if case .reasoning(let reasoning) = response.output[1] {
            #expect(reasoning.encryptedContent == "gAAAAB-opaque")
        } else {
            Issue.record("not a reasoning item")
        }
        #expect(response.functionCalls == [ResponseFunctionCall(
            id: "fc_67ca09c6bedc8190a7abfec07b1a1332096610f474011cc0",
            callID: "call_unLAR8MvFNptuiZK6K6HCy5k",
            name: "get_current_weather",
            arguments: #"{"location":"Boston, MA","unit":"celsius"}"#
        )])
        // As the SDKs' output_text: output_text parts only, joined as they are.
        #expect(response.outputText == "Part one. Part two.")
        #expect(response.usage?.inputTokensDetails == nil)
        #expect(try encoded(response) == (try json(text)))
    }

    @Test func anItemThatDoesNotFitItsTypeIsKeptAsItCame() throws {
        // A provider's function call without call_id.
        let text = #"{"id":"r","object":"response","created_at":1,"model":"m","output":[{"type":"function_call","name":"f","arguments":"{}"}]}"#
        let response = try Self.decode(text)
        guard case .other = response.output.first else {
            Issue.record("expected the item as it came: \(response.output)")
            return
        }
        #expect(try encoded(response) == (try json(text)))
    }

    @Test func aRequestEncodesInSnakeCaseWithoutUnsetFields() throws {
        let request = ResponsesRequest(
            model: "o4-mini",
            input: .items([
                .developer("Answer briefly."),
                ResponseInputItem(role: "user", content: .parts([.inputText("What is in this image?"), .inputImage(url: "https://example.com/cat.png", detail: "low")])),
                .functionCallOutput(callID: "call_1", output: #"{"temperature":21}"#),
            ]),
            instructions: "Be kind.",
            tools: [.function(name: "get_weather", description: "Weather now", parameters: ["type": "object"], strict: true), ResponsesTool(type: "web_search")],
            toolChoice: "auto",
            text: ["format": ["type": "text"]],
            reasoning: .init(effort: "low", summary: "auto"),
            temperature: 0.5,
            topP: 0.9,
            maxOutputTokens: 200,
            previousResponseID: "resp_prev",
            include: ["reasoning.encrypted_content"],
            store: false,
            stream: true,
            metadata: ["user": "42"],
            promptCacheKey: "tenant-7",
            extra: ["truncation": "auto", "model": "ignored"]
        )
        #expect(try encoded(request) == (try json(#"""
            {"model":"o4-mini","input":[
              {"type":"message","role":"developer","content":"Answer briefly."},
              {"role":"user","content":[{"type":"input_text","text":"What is in this image?"},{"type":"input_image","image_url":"https://example.com/cat.png","detail":"low"}]},
              {"type":"function_call_output","call_id":"call_1","output":"{\"temperature\":21}"}],
             "instructions":"Be kind.",
             "tools":[{"type":"function","name":"get_weather","description":"Weather now","parameters":{"type":"object"},"strict":true},{"type":"web_search"}],
             "tool_choice":"auto","text":{"format":{"type":"text"}},"reasoning":{"effort":"low","summary":"auto"},
             "temperature":0.5,"top_p":0.9,"max_output_tokens":200,"previous_response_id":"resp_prev",
             "include":["reasoning.encrypted_content"],"store":false,"stream":true,"metadata":{"user":"42"},
             "prompt_cache_key":"tenant-7","truncation":"auto"}
            """#)))
        #expect(try encoded(ResponsesRequest(model: "gpt-4.1-mini", input: .text("Hi"))) == (try json(#"{"model":"gpt-4.1-mini","input":"Hi"}"#)))
    }

    @Test func aRequestDecodesAndPassesThroughUnchanged() throws {
        let text = #"{"model":"gpt-4.1","input":[{"role":"user","content":"Hi"},{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{}"},{"type":"item_reference","id":"msg_9"}],"tools":[{"type":"file_search","vector_store_ids":["vs_1"]}],"parallel_tool_calls":false,"service_tier":"flex"}"#
        let request = try JSONDecoder().decode(ResponsesRequest.self, from: Data(text.utf8))
        #expect(request.model == "gpt-4.1")
        guard case .items(let items)? = request.input else {
            Issue.record("input should be items")
            return
        }
        #expect(items.first?.content == .text("Hi"))
        #expect(items[1].callID == "call_1")
        #expect(items[1].extra["name"] == "f")
        #expect(request.tools?.first?.extra["vector_store_ids"] == OpenAIJSON(.array([.string("vs_1")])))
        #expect(request.extra["parallel_tool_calls"] == OpenAIJSON(.bool(false)))
        #expect(try encoded(request) == (try json(text)))

        let plain = try JSONDecoder().decode(ResponsesRequest.self, from: Data(#"{"model":"m","input":"Tell me a joke"}"#.utf8))
        #expect(plain.input == .text("Tell me a joke"))
    }
}
