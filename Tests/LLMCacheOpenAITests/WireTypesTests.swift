import Foundation
import LLMCache
import LLMCacheOpenAI
import Testing

@Suite struct ChatRequestCodingTests {
    @Test func aRequestIsSentInSnakeCaseWithoutTheFieldsLeftUnset() throws {
        let request = ChatCompletionRequest(
            model: "gpt-4o-mini",
            messages: [.system("Be brief."), .user("Hi")],
            temperature: 0.2,
            streamOptions: ["include_usage": OpenAIJSON(.bool(true))],
            maxCompletionTokens: 100,
            frequencyPenalty: 0.5,
            toolChoice: "auto"
        )
        #expect(try encoded(request) == json(#"""
        {"model": "gpt-4o-mini",
         "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
         "temperature": 0.2, "stream_options": {"include_usage": true}, "max_completion_tokens": 100,
         "frequency_penalty": 0.5, "tool_choice": "auto"}
        """#))
    }

    /// A request with tools, a forced tool choice, a JSON schema, an image,
    /// an earlier tool call and its result, and members the type does not model.
    static let fullRequest = #"""
    {
      "model": "gpt-4o-2024-08-06",
      "messages": [
        {"role": "developer", "content": "You answer weather questions."},
        {"role": "user", "content": [
          {"type": "text", "text": "What is the weather where this photo was taken?"},
          {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/wikipedia/commons/4/4b/La_Tour_Eiffel_vue_de_la_Tour_Saint-Jacques%2C_Paris_ao%C3%BBt_2014_%282%29.jpg", "detail": "low"}}
        ]},
        {"role": "assistant", "tool_calls": [
          {"id": "call_WjiEsRqXDzLkDVwq2ZDzrNt0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_WjiEsRqXDzLkDVwq2ZDzrNt0", "content": "{\"temperature\": 18, \"unit\": \"celsius\"}"}
      ],
      "tools": [
        {"type": "function", "function": {
          "name": "get_weather",
          "description": "Get the current weather in a given location",
          "parameters": {
            "type": "object",
            "properties": {
              "location": {"type": "string", "description": "The city and country, e.g. Paris, France"},
              "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", null]}
            },
            "required": ["location", "unit"],
            "additionalProperties": false
          },
          "strict": true
        }}
      ],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
      "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": {"type": "object", "properties": {"summary": {"type": "string", "maxLength": 200}}, "required": ["summary"], "additionalProperties": false}}},
      "temperature": 0.7,
      "top_p": 1,
      "n": 1,
      "stop": ["\n\n"],
      "seed": 42,
      "max_completion_tokens": 300,
      "user": "user-1234",
      "parallel_tool_calls": false,
      "logit_bias": {"50256": -100, "1734": 1, "198": 0},
      "top_logprobs": 1,
      "logprobs": true,
      "metadata": {"purpose": "test"},
      "reasoning_effort": "low",
      "prediction": null
    }
    """#

    @Test func aFullRequestSurvivesDecodingAndEncodingUnchanged() throws {
        let request = try decoded(ChatCompletionRequest.self, Self.fullRequest)
        #expect(try encoded(request) == json(Self.fullRequest))
    }

    @Test func aFullRequestDecodesIntoItsTypedParts() throws {
        let request = try decoded(ChatCompletionRequest.self, Self.fullRequest)
        #expect(request.messages.map(\.role) == ["developer", "user", "assistant", "tool"])
        guard case .parts(let parts)? = request.messages[1].content else {
            Issue.record("the user message should have content parts")
            return
        }
        #expect(parts == [
            .text("What is the weather where this photo was taken?"),
            .image(url: "https://upload.wikimedia.org/wikipedia/commons/4/4b/La_Tour_Eiffel_vue_de_la_Tour_Saint-Jacques%2C_Paris_ao%C3%BBt_2014_%282%29.jpg", detail: "low"),
        ])
        #expect(request.messages[1].text == "What is the weather where this photo was taken?")
        #expect(request.messages[2].content == nil)
        #expect(request.messages[2].toolCalls?.first?.function.name == "get_weather")
        #expect(request.messages[3].toolCallID == "call_WjiEsRqXDzLkDVwq2ZDzrNt0")
        let function = try #require(request.tools?.first?.function)
        #expect(function.strict == true)
        #expect(function.parameters?.value["additionalProperties"] == .bool(false))
        #expect(function.parameters?.value["required"] == .array([.string("location"), .string("unit")]))
        #expect(request.toolChoice?.value["function"]?["name"] == .string("get_weather"))
        #expect(request.topP == 1)
        #expect(request.seed == 42)
        #expect(request.stop == ["\n\n"])
    }

    @Test func membersTheTypeDoesNotModelAreKeptInExtra() throws {
        let request = try decoded(ChatCompletionRequest.self, Self.fullRequest)
        #expect(Set(request.extra.keys) == ["parallel_tool_calls", "logit_bias", "top_logprobs", "logprobs", "metadata", "reasoning_effort", "prediction"])
        #expect(request.extra["parallel_tool_calls"]?.value == .bool(false))
        // A number stays a number (1 is not true, 0 is not false).
        #expect(request.extra["top_logprobs"]?.value == .number(JSONNumber(1)))
        #expect(request.extra["logit_bias"]?.value["198"] == .number(JSONNumber(0)))
        #expect(request.extra["logit_bias"]?.value["50256"] == .number(JSONNumber(-100)))
        #expect(request.extra["prediction"]?.value == .null)
    }

    @Test func extraMembersAreSentButNeverOverrideModeledFields() throws {
        let request = ChatCompletionRequest(
            model: "o4-mini",
            messages: [.user("Hi")],
            extra: ["reasoning_effort": "high", "parallel_tool_calls": OpenAIJSON(.bool(false)), "model": "gpt-4o"]
        )
        #expect(try encoded(request) == json(#"""
        {"model": "o4-mini", "messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "high", "parallel_tool_calls": false}
        """#))
    }

    @Test func theRequestMustNameAModelAndMessages() {
        #expect(throws: DecodingError.self) { try decoded(ChatCompletionRequest.self, #"{"messages": []}"#) }
        #expect(throws: DecodingError.self) { try decoded(ChatCompletionRequest.self, #"{"model": "gpt-4o"}"#) }
    }
}

@Suite struct MessageCodingTests {
    @Test func toolMessagesAndAssistantToolCallsUseTheWireNames() throws {
        let call = ToolCall(id: "call_1", function: .init(name: "lookup", arguments: #"{"q":"swift"}"#))
        #expect(try encoded(ChatMessage(role: "assistant", content: nil, toolCalls: [call])) == json(#"""
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"swift\"}"}}]}
        """#))
        #expect(try encoded(ChatMessage.tool("42", callID: "call_1")) == json(#"{"role": "tool", "content": "42", "tool_call_id": "call_1"}"#))
    }

    @Test func aNullContentDecodesAsNone() throws {
        let message = try decoded(ChatMessage.self, #"{"role": "assistant", "content": null, "refusal": "I can't help with that."}"#)
        #expect(message.content == nil)
        #expect(message.text == nil)
        #expect(message.refusal == "I can't help with that.")
    }

    @Test func contentIsEitherAStringOrParts() throws {
        #expect(try decoded(ChatMessage.self, #"{"role": "user", "content": "Hi"}"#).content == .text("Hi"))
        let parts = try decoded(ChatMessage.self, #"{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}, {"type": "text", "text": "two"}]}"#)
        #expect(parts.content == .parts([.text("one"), .image(url: "data:image/png;base64,iVBORw0KGgo="), .text("two")]))
        // The text of parts skips images and joins the rest by lines.
        #expect(parts.text == "one\ntwo")
        #expect(throws: DecodingError.self) { try decoded(ChatMessage.self, #"{"role": "user", "content": 3}"#) }
    }

    @Test func anImagePartWithoutDetailLeavesTheChoiceToTheProvider() throws {
        #expect(try encoded(ContentPart.image(url: "https://example.com/a.png")) == json(#"{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}"#))
        #expect(try encoded(ContentPart.image(url: "https://example.com/a.png", detail: "high")) == json(#"{"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}}"#))
    }

    @Test(arguments: [
        #"{"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=", "format": "wav"}}"#,
        #"{"type": "file", "file": {"file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"}}"#,
    ])
    func partsOfOtherKindsKeepTheirMembers(part: String) throws {
        let decodedPart = try decoded(ContentPart.self, part)
        #expect(decodedPart.text == nil)
        #expect(decodedPart.imageURL == nil)
        #expect(decodedPart.extra.count == 1)
        #expect(try encoded(decodedPart) == json(part))
    }
}

@Suite struct ResponseCodingTests {
    @Test func aChatCompletionDecodesWithItsUsageAndFingerprint() throws {
        let completion = try decoded(ChatCompletion.self, Captured.chatCompletion)
        #expect(completion == ChatCompletion(
            id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            created: 1_741_569_952,
            model: "gpt-4o-mini-2024-07-18",
            choices: [.init(index: 0, message: .assistant("Hello! How can I assist you today?"), finishReason: "stop")],
            usage: Usage(promptTokens: 19, completionTokens: 10, totalTokens: 29),
            systemFingerprint: "fp_06737a9306"
        ))
        // Encoding and decoding again loses nothing the type holds.
        #expect(try JSONDecoder().decode(ChatCompletion.self, from: JSONEncoder().encode(completion)) == completion)
    }

    @Test func aToolCallingCompletionHasNoContentAndTheCall() throws {
        let completion = try decoded(ChatCompletion.self, Captured.toolCallCompletion)
        let choice = try #require(completion.choices.first)
        #expect(choice.finishReason == "tool_calls")
        #expect(choice.message.content == nil)
        #expect(choice.message.toolCalls == [ToolCall(id: "call_WjiEsRqXDzLkDVwq2ZDzrNt0", function: .init(name: "get_weather", arguments: #"{"location":"Paris, France"}"#))])
        #expect(try JSONDecoder().decode(ChatCompletion.self, from: JSONEncoder().encode(completion)) == completion)
    }

    @Test func theRoleChunkOpensTheMessage() throws {
        let chunk = try decoded(ChatCompletionChunk.self, Captured.textStream[0])
        #expect(chunk.object == "chat.completion.chunk")
        #expect(chunk.systemFingerprint == "fp_44added55e")
        #expect(chunk.usage == nil)
        #expect(chunk.choices == [.init(index: 0, delta: .init(role: "assistant", content: ""), finishReason: nil)])
    }

    @Test func aToolCallsFirstPieceNamesItAndLaterPiecesCarryOnlyArguments() throws {
        let first = try decoded(ChatCompletionChunk.self, Captured.toolCallStream[1])
        #expect(first.choices.first?.delta.toolCalls == [.init(index: 0, id: "call_8fMGCNaZbV7WLkl9VYoDFzaa", type: "function", function: .init(name: "get_weather", arguments: ""))])
        let piece = try decoded(ChatCompletionChunk.self, Captured.toolCallStream[2])
        #expect(piece.choices.first?.delta.toolCalls == [.init(index: 0, function: .init(arguments: #"{""#))])
        let second = try decoded(ChatCompletionChunk.self, Captured.toolCallStream[7])
        #expect(second.choices.first?.delta.toolCalls?.first?.index == 1)
        let finish = try decoded(ChatCompletionChunk.self, Captured.toolCallStream.last!)
        #expect(finish.choices == [.init(index: 0, delta: .init(), finishReason: "tool_calls")])
    }

    @Test func theUsageChunkHasNoChoices() throws {
        let chunk = try decoded(ChatCompletionChunk.self, Captured.textStream.last!)
        #expect(chunk.choices.isEmpty)
        #expect(chunk.usage == Usage(promptTokens: 11, completionTokens: 7, totalTokens: 18))
    }

    @Test func refusalDeltasDecode() throws {
        let opening = try decoded(ChatCompletionChunk.self, Captured.refusalStream[0])
        #expect(opening.choices.first?.delta == .init(role: "assistant", content: nil, refusal: ""))
        let piece = try decoded(ChatCompletionChunk.self, Captured.refusalStream[1])
        #expect(piece.choices.first?.delta.refusal == "I'm")
    }

    @Test func everyCapturedChunkDecodes() throws {
        for payload in Captured.textStream + Captured.toolCallStream + Captured.refusalStream + Captured.twoChoiceStream {
            let chunk = try decoded(ChatCompletionChunk.self, payload)
            #expect(try JSONDecoder().decode(ChatCompletionChunk.self, from: JSONEncoder().encode(chunk)) == chunk)
        }
    }

    @Test func aLegacyCompletionDecodes() throws {
        let completion = try decoded(Completion.self, Captured.completion)
        #expect(completion == Completion(
            id: "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7", created: 1_589_478_378, model: "gpt-3.5-turbo-instruct",
            choices: [.init(text: "\n\nThis is indeed a test", index: 0, finishReason: "length")],
            usage: Usage(promptTokens: 5, completionTokens: 7, totalTokens: 12)
        ))
    }

    @Test func embeddingsDecodeWithEveryDigitAFloatHolds() throws {
        let response = try decoded(EmbeddingResponse.self, Captured.embeddings)
        #expect(response.model == "text-embedding-3-small")
        #expect(response.data.map(\.index) == [0, 1])
        #expect(response.data[0].embedding == [-0.006929283495992422, -0.005336422007530928, 0.00047350498218461871, -0.024047505110502243])
        #expect(response.usage == Usage(promptTokens: 8, completionTokens: nil, totalTokens: 8))
    }

    @Test func aModelListDecodes() throws {
        let list = try decoded(ModelList.self, Captured.models)
        #expect(list.data.map(\.id) == ["gpt-4o-mini", "text-embedding-3-small"])
        #expect(list.data.first?.ownedBy == "system")
        #expect(list.data.first?.created == 1_721_172_741)
    }

    @Test func legacyAndEmbeddingRequestsUseTheWireNames() throws {
        #expect(try encoded(CompletionRequest(model: "gpt-3.5-turbo-instruct", prompt: "Say this is a test", maxTokens: 7, topP: 1, suffix: "!")) == json(#"""
        {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test", "max_tokens": 7, "top_p": 1, "suffix": "!"}
        """#))
        #expect(try encoded(EmbeddingRequest(model: "text-embedding-3-small", input: OpenAIJSON(.array([.string("a"), .string("b")])), encodingFormat: "float", dimensions: 256)) == json(#"""
        {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "float", "dimensions": 256}
        """#))
    }
}

@Suite struct OpenAIJSONTests {
    @Test(arguments: [
        #"{"a": 1, "b": 0, "c": true, "d": false, "e": null, "f": 0.25, "g": -3.5e-7, "h": "1", "i": [1, "x", null, {"j": []}], "k": {}}"#,
        #"[0, 1, true, false]"#,
        #""just a string""#,
        "12345",
        "null",
    ])
    func anyJSONSurvivesDecodingAndEncoding(text: String) throws {
        let value = try decoded(OpenAIJSON.self, text)
        #expect(value.value == (try json(text)))
        #expect(try encoded(value) == json(text))
    }

    @Test func textParsesIntoTheSameValue() throws {
        let schema = #"{"type": "object", "properties": {"q": {"type": "string"}}}"#
        #expect(try OpenAIJSON(parsing: schema) == decoded(OpenAIJSON.self, schema))
    }
}
