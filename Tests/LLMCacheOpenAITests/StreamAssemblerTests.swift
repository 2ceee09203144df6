import Foundation
import LLMCache
import LLMCacheOpenAI
import Testing

@Suite struct StreamAssemblerTests {
    static func assemble(_ payloads: [String], done: Bool = true) -> StreamAssembler {
        var assembler = StreamAssembler()
        for payload in payloads { assembler.consume(event: Array(payload.utf8)) }
        if done { assembler.consume(event: SSEParser.doneMarker) }
        return assembler
    }

    /// The assembled response as the typed answer a non-streamed call returns.
    static func completion(_ assembler: StreamAssembler) throws -> ChatCompletion {
        try JSONDecoder().decode(ChatCompletion.self, from: Data(assembler.response.jsonBytes))
    }

    @Test func aTextStreamBecomesTheChatCompletionANonStreamedCallReturns() throws {
        let assembler = Self.assemble(Captured.textStream)
        #expect(assembler.isComplete)
        #expect(assembler.eventCount == Captured.textStream.count)
        let completion = try Self.completion(assembler)
        #expect(completion == ChatCompletion(
            id: "chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH",
            created: 1_744_460_000,
            model: "gpt-4o-mini-2024-07-18",
            choices: [.init(index: 0, message: .assistant(Captured.textStreamContent), finishReason: "stop")],
            usage: Usage(promptTokens: 11, completionTokens: 7, totalTokens: 18),
            systemFingerprint: "fp_44added55e"
        ))
        let response = assembler.response
        #expect(response["object"] == .string("chat.completion"))
        // The usage chunk's details come through whole, not only the three counts.
        #expect(response["usage"]?["prompt_tokens_details"]?["cached_tokens"] == .number(JSONNumber(0)))
        #expect(response["choices"]?[0]?["logprobs"] == .null)
    }

    @Test func toolCallPiecesAreJoinedPerCallIndex() throws {
        let assembler = Self.assemble(Captured.toolCallStream)
        #expect(assembler.isComplete)
        let completion = try Self.completion(assembler)
        let choice = try #require(completion.choices.first)
        #expect(choice.finishReason == "tool_calls")
        #expect(choice.message.content == nil)
        #expect(choice.message.toolCalls == [
            ToolCall(id: "call_8fMGCNaZbV7WLkl9VYoDFzaa", function: .init(name: "get_weather", arguments: #"{"location":"Paris"}"#)),
            ToolCall(id: "call_Xq1tJ3Lw2mKzS9dPfB6hYc4e", function: .init(name: "get_weather", arguments: #"{"location":"Tokyo"}"#)),
        ])
        // The joined pieces are the JSON the model wrote, ready to parse.
        for call in choice.message.toolCalls ?? [] {
            #expect((try? JSONValue(parsing: call.function.arguments))?["location"] != nil)
        }
        #expect(completion.usage == nil)
    }

    @Test func aRefusalIsKeptApartFromTheContent() throws {
        let assembler = Self.assemble(Captured.refusalStream)
        #expect(assembler.isComplete)
        let message = try #require(try Self.completion(assembler).choices.first?.message)
        #expect(message.refusal == Captured.refusalText)
        #expect(message.content == nil)
        #expect(assembler.response["choices"]?[0]?["message"]?["content"] == .null)
    }

    @Test func interleavedChoicesAreAssembledByIndex() throws {
        let completion = try Self.completion(Self.assemble(Captured.twoChoiceStream))
        #expect(completion.choices.map(\.index) == [0, 1])
        #expect(completion.choices.map(\.message.text) == ["Hello there", "Hi!"])
        #expect(completion.choices.map(\.finishReason) == ["length", "stop"])
    }

    @Test func legacyCompletionChunksBecomeATextCompletion() throws {
        let assembler = Self.assemble(Captured.legacyStream)
        #expect(assembler.isComplete)
        let completion = try JSONDecoder().decode(Completion.self, from: Data(assembler.response.jsonBytes))
        #expect(completion.object == "text_completion")
        #expect(completion.id == "cmpl-9Yj1hT0dTk3nWbWcZkcW5Zx4pQh2B")
        #expect(completion.model == "gpt-3.5-turbo-instruct")
        #expect(completion.choices == [.init(text: "\n\nThis is a test.", index: 0, finishReason: "stop")])
    }

    @Test func aFingerprintFirstSentOnALaterChunkIsKept() throws {
        var first = try JSONValue(parsing: Captured.textStream[0])
        if case .object(var fields) = first {
            fields["system_fingerprint"] = .null
            first = .object(fields)
        }
        let payloads = [String(decoding: first.jsonBytes, as: UTF8.self)] + Captured.textStream.dropFirst()
        #expect(try Self.completion(Self.assemble(payloads)).systemFingerprint == "fp_44added55e")
    }

    @Test func aStreamWithoutDoneIsIncompleteButStillAssembles() throws {
        let assembler = Self.assemble(Captured.textStream, done: false)
        #expect(!assembler.isComplete)
        #expect(!assembler.sawDone)
        #expect(try Self.completion(assembler).choices.first?.message.text == Captured.textStreamContent)
    }

    @Test func anErrorEventMakesTheStreamIncomplete() {
        let assembler = Self.assemble(Array(Captured.textStream.prefix(3)) + [Captured.streamError])
        #expect(assembler.sawError)
        #expect(assembler.sawDone)
        #expect(!assembler.isComplete)
    }

    @Test(arguments: ["not json", "[1, 2]", #""a string""#, #"{"id": "chatcmpl-1", "#])
    func anEventThatIsNotAJSONObjectMakesTheStreamIncomplete(event: String) {
        let assembler = Self.assemble(Array(Captured.textStream.prefix(2)) + [event] + Captured.textStream.dropFirst(2))
        #expect(assembler.sawError)
        #expect(!assembler.isComplete)
    }

    @Test func onlyDoneIsNoAnswer() {
        let assembler = Self.assemble([])
        #expect(assembler.sawDone)
        #expect(assembler.eventCount == 0)
        #expect(!assembler.isComplete)
    }

    /// A stream as a provider sends it, and the object a non-streamed call
    /// returns for the same answer.
    struct ProviderStream: Sendable, CustomTestStringConvertible {
        let name: String
        let chunks: [String]
        let expected: String
        var testDescription: String { name }
    }

    static let providerStreams: [ProviderStream] = [
        ProviderStream(
            // `"logprobs": true, "top_logprobs": 1`, `include_usage`: every
            // content chunk is one token with its entry; `obfuscation` pads
            // each chunk and is no part of the answer.
            name: "OpenAI with logprobs",
            chunks: [
                #"{"id":"chatcmpl-C3pLq","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":{"content":[],"refusal":null},"finish_reason":null}],"usage":null,"obfuscation":"Xk3v"}"#,
                #"{"id":"chatcmpl-C3pLq","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.0012,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.0012,"bytes":[72,105]}]}],"refusal":null},"finish_reason":null}],"usage":null,"obfuscation":"q"}"#,
                #"{"id":"chatcmpl-C3pLq","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{"content":"!"},"logprobs":{"content":[{"token":"!","logprob":-0.31,"bytes":[33],"top_logprobs":[{"token":"!","logprob":-0.31,"bytes":[33]}]}],"refusal":null},"finish_reason":null}],"usage":null,"obfuscation":"Rt0pZ"}"#,
                #"{"id":"chatcmpl-C3pLq","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{"content":" there"},"logprobs":{"content":[{"token":" there","logprob":-1.05,"bytes":[32,116,104,101,114,101],"top_logprobs":[{"token":" there","logprob":-1.05,"bytes":[32,116,104,101,114,101]}]}],"refusal":null},"finish_reason":null}],"usage":null,"obfuscation":"m"}"#,
                #"{"id":"chatcmpl-C3pLq","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"obfuscation":"aB9"}"#,
                #"{"id":"chatcmpl-C3pLq","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12},"obfuscation":"Wq"}"#,
            ],
            expected: #"{"id":"chatcmpl-C3pLq","object":"chat.completion","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"message":{"role":"assistant","content":"Hi! there","refusal":null},"logprobs":{"content":[{"token":"Hi","logprob":-0.0012,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.0012,"bytes":[72,105]}]},{"token":"!","logprob":-0.31,"bytes":[33],"top_logprobs":[{"token":"!","logprob":-0.31,"bytes":[33]}]},{"token":" there","logprob":-1.05,"bytes":[32,116,104,101,114,101],"top_logprobs":[{"token":" there","logprob":-1.05,"bytes":[32,116,104,101,114,101]}]}],"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#
        ),
        ProviderStream(
            // deepseek-reasoner: reasoning_content pieces with null content,
            // then content pieces with null reasoning_content; usage rides
            // on the finish chunk.
            name: "DeepSeek reasoning_content",
            chunks: [
                #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"The user"},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":{"content":null,"reasoning_content":" greets me."},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":{"content":"Hello","reasoning_content":null},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":{"content":"!","reasoning_content":null},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":9,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":6},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13}}"#,
            ],
            expected: #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","reasoning_content":"The user greets me."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":9,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":6},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13}}"#
        ),
        ProviderStream(
            // vLLM with a reasoning parser and `"stop": ["\n\n"]`: the choice's
            // stop_reason is null until the chunk where the stop string matched.
            name: "vLLM reasoning and stop_reason",
            chunks: [
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning_content":"Short"},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"reasoning_content":" answer."},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":"It is"},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":" sunny."},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","stop_reason":"\n\n"}]}"#,
                #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion.chunk","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[],"usage":{"prompt_tokens":20,"total_tokens":31,"completion_tokens":11}}"#,
            ],
            expected: #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion","created":1745000000,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"message":{"role":"assistant","content":"It is sunny.","reasoning_content":"Short answer."},"logprobs":null,"finish_reason":"stop","stop_reason":"\n\n"}],"usage":{"prompt_tokens":20,"total_tokens":31,"completion_tokens":11}}"#
        ),
        ProviderStream(
            // OpenRouter: `reasoning` deltas, the upstream provider at the top
            // level, native_finish_reason on each choice.
            name: "OpenRouter reasoning and provider",
            chunks: [
                #"{"id":"gen-1745000000-AbCdEfGh","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1745000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Simple"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
                #"{"id":"gen-1745000000-AbCdEfGh","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1745000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":" greeting."},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
                #"{"id":"gen-1745000000-AbCdEfGh","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1745000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi!","reasoning":null},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
                #"{"id":"gen-1745000000-AbCdEfGh","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion.chunk","created":1745000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":null},"finish_reason":"stop","native_finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":8,"completion_tokens":6,"total_tokens":14}}"#,
            ],
            expected: #"{"id":"gen-1745000000-AbCdEfGh","provider":"DeepInfra","model":"deepseek/deepseek-r1","object":"chat.completion","created":1745000000,"choices":[{"index":0,"message":{"role":"assistant","content":"Hi!","reasoning":"Simple greeting."},"finish_reason":"stop","native_finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":8,"completion_tokens":6,"total_tokens":14}}"#
        ),
        ProviderStream(
            // Gemini's OpenAI-compatible endpoint: whole calls in one chunk,
            // without an index, each with a thought signature of its own.
            name: "tool calls with fields of their own and no index",
            chunks: [
                #"{"choices":[{"delta":{"role":"assistant","tool_calls":[{"extra_content":{"google":{"thought_signature":"Cs4BAdHtim9"}},"function":{"arguments":"{\"city\":\"Oslo\"}","name":"get_weather"},"id":"function-call-1","type":"function"},{"function":{"arguments":"{\"city\":\"Bergen\"}","name":"get_weather"},"id":"function-call-2","type":"function"}]},"finish_reason":"tool_calls","index":0}],"created":1750000000,"id":"aBcDeFgHiJ","model":"gemini-2.5-flash","object":"chat.completion.chunk","usage":{"completion_tokens":30,"prompt_tokens":50,"total_tokens":80}}"#,
            ],
            expected: #"{"id":"aBcDeFgHiJ","object":"chat.completion","created":1750000000,"model":"gemini-2.5-flash","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"function-call-1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},"extra_content":{"google":{"thought_signature":"Cs4BAdHtim9"}}},{"id":"function-call-2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Bergen\"}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"completion_tokens":30,"prompt_tokens":50,"total_tokens":80}}"#
        ),
        ProviderStream(
            // gpt-4o-audio-preview: the transcript and the audio data come in
            // pieces; id and expires_at are repeated whole.
            name: "OpenAI audio",
            chunks: [
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":null},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{"audio":{"id":"audio_6801b2c3d4e5","transcript":"Hello"}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{"audio":{"transcript":" there."}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{"audio":{"data":"UklGRiQAAABXQVZF"}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{"audio":{"data":"Zm10IBAAAAAB"}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{"audio":{"id":"audio_6801b2c3d4e5","expires_at":1744463900}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-AuD10","object":"chat.completion.chunk","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
            ],
            expected: #"{"id":"chatcmpl-AuD10","object":"chat.completion","created":1744460300,"model":"gpt-4o-audio-preview-2024-12-17","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"audio":{"id":"audio_6801b2c3d4e5","data":"UklGRiQAAABXQVZFZm10IBAAAAAB","transcript":"Hello there.","expires_at":1744463900}},"logprobs":null,"finish_reason":"stop"}]}"#
        ),
        ProviderStream(
            // gpt-4o-search-preview: url citations arrive after the text,
            // one annotation per chunk.
            name: "OpenAI annotations",
            chunks: [
                #"{"id":"chatcmpl-SeA7","object":"chat.completion.chunk","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-SeA7","object":"chat.completion.chunk","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"delta":{"content":"Oslo is sunny"},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-SeA7","object":"chat.completion.chunk","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"delta":{"content":" today."},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-SeA7","object":"chat.completion.chunk","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"delta":{"annotations":[{"type":"url_citation","url_citation":{"end_index":13,"start_index":0,"title":"Oslo weather","url":"https://weather.example/oslo"}}]},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-SeA7","object":"chat.completion.chunk","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"delta":{"annotations":[{"type":"url_citation","url_citation":{"end_index":20,"start_index":14,"title":"Today","url":"https://weather.example/today"}}]},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-SeA7","object":"chat.completion.chunk","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
            ],
            expected: #"{"id":"chatcmpl-SeA7","object":"chat.completion","created":1744460400,"model":"gpt-4o-search-preview-2025-03-11","choices":[{"index":0,"message":{"role":"assistant","content":"Oslo is sunny today.","refusal":null,"annotations":[{"type":"url_citation","url_citation":{"end_index":13,"start_index":0,"title":"Oslo weather","url":"https://weather.example/oslo"}},{"type":"url_citation","url_citation":{"end_index":20,"start_index":14,"title":"Today","url":"https://weather.example/today"}}]},"logprobs":null,"finish_reason":"stop"}]}"#
        ),
        ProviderStream(
            // Azure OpenAI opens with a chunk holding only the prompt filter
            // results, with empty id and model, and closes with empty
            // content filter results.
            name: "Azure content filter results",
            chunks: [
                #"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#,
                #"{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1745000100,"id":"chatcmpl-Az1q","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#,
                #"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hi"},"finish_reason":null,"index":0,"logprobs":null}],"created":1745000100,"id":"chatcmpl-Az1q","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#,
                #"{"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1745000100,"id":"chatcmpl-Az1q","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#,
            ],
            expected: #"{"id":"chatcmpl-Az1q","object":"chat.completion","created":1745000100,"model":"gpt-4o-2024-11-20","system_fingerprint":"fp_ee1d74bde0","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],"choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null},"logprobs":null,"finish_reason":"stop","content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#
        ),
        ProviderStream(
            // The functions API that preceded tools.
            name: "legacy function_call",
            chunks: [
                #"{"id":"chatcmpl-Fn1","object":"chat.completion.chunk","created":1744460500,"model":"gpt-3.5-turbo-0125","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":""}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-Fn1","object":"chat.completion.chunk","created":1744460500,"model":"gpt-3.5-turbo-0125","system_fingerprint":null,"choices":[{"index":0,"delta":{"function_call":{"arguments":"{\"city\""}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-Fn1","object":"chat.completion.chunk","created":1744460500,"model":"gpt-3.5-turbo-0125","system_fingerprint":null,"choices":[{"index":0,"delta":{"function_call":{"arguments":":\"Oslo\"}"}},"logprobs":null,"finish_reason":null}]}"#,
                #"{"id":"chatcmpl-Fn1","object":"chat.completion.chunk","created":1744460500,"model":"gpt-3.5-turbo-0125","system_fingerprint":null,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"function_call"}]}"#,
            ],
            expected: #"{"id":"chatcmpl-Fn1","object":"chat.completion","created":1744460500,"model":"gpt-3.5-turbo-0125","system_fingerprint":null,"choices":[{"index":0,"message":{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},"logprobs":null,"finish_reason":"function_call"}]}"#
        ),
        ProviderStream(
            // gpt-3.5-turbo-instruct with `"logprobs": 1`: each text piece
            // carries its token's arrays; the finish chunk empty ones.
            name: "legacy completion with logprobs",
            chunks: [
                #"{"id":"cmpl-A1b2C3","object":"text_completion","created":1718000000,"choices":[{"text":"\n\n","index":0,"logprobs":{"tokens":["\n\n"],"token_logprobs":[-0.04],"top_logprobs":[{"\n\n":-0.04}],"text_offset":[7]},"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
                #"{"id":"cmpl-A1b2C3","object":"text_completion","created":1718000000,"choices":[{"text":"This","index":0,"logprobs":{"tokens":["This"],"token_logprobs":[-0.52],"top_logprobs":[{"This":-0.52}],"text_offset":[9]},"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
                #"{"id":"cmpl-A1b2C3","object":"text_completion","created":1718000000,"choices":[{"text":" works","index":0,"logprobs":{"tokens":[" works"],"token_logprobs":[-1.7],"top_logprobs":[{" works":-1.7}],"text_offset":[13]},"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}"#,
                #"{"id":"cmpl-A1b2C3","object":"text_completion","created":1718000000,"choices":[{"text":"","index":0,"logprobs":{"tokens":[],"token_logprobs":[],"top_logprobs":[],"text_offset":[]},"finish_reason":"stop"}],"model":"gpt-3.5-turbo-instruct"}"#,
            ],
            expected: #"{"id":"cmpl-A1b2C3","object":"text_completion","created":1718000000,"model":"gpt-3.5-turbo-instruct","choices":[{"text":"\n\nThis works","index":0,"logprobs":{"tokens":["\n\n","This"," works"],"token_logprobs":[-0.04,-0.52,-1.7],"top_logprobs":[{"\n\n":-0.04},{"This":-0.52},{" works":-1.7}],"text_offset":[7,9,13]},"finish_reason":"stop"}]}"#
        ),
    ]

    @Test(arguments: providerStreams)
    func aProviderStreamAssemblesIntoTheNonStreamedAnswer(stream: ProviderStream) throws {
        let assembler = Self.assemble(stream.chunks)
        #expect(assembler.isComplete)
        #expect(assembler.response == (try JSONValue(parsing: stream.expected)))
    }

    @Test func everyTokenOfALongStreamKeepsItsLogprobsInOrder() throws {
        // A streamed miss as the relay sees it: bytes cut at arbitrary
        // places, parsed into events, assembled.
        let tokens = (0..<3_000).map { $0 == 0 ? "Token0" : " token\($0)" }
        var body = ""
        body += "data: " + #"{"id":"chatcmpl-L1","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":{"content":[],"refusal":null},"finish_reason":null}]}"# + "\n\n"
        for (position, token) in tokens.enumerated() {
            let entry = #"{"token":"\#(token)","logprob":-0.\#(position % 10)1,"bytes":[\#(Array(token.utf8).map(String.init).joined(separator: ","))],"top_logprobs":[]}"#
            body += "data: " + #"{"id":"chatcmpl-L1","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"\#(token)"},"logprobs":{"content":[\#(entry)],"refusal":null},"finish_reason":null}]}"# + "\n\n"
        }
        body += "data: " + #"{"id":"chatcmpl-L1","object":"chat.completion.chunk","created":1755000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}"# + "\n\ndata: [DONE]\n\n"
        let bytes = Array(body.utf8)
        var parser = SSEParser()
        var assembler = StreamAssembler()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + 1_021)
            for event in parser.feed(bytes[start..<end]) { assembler.consume(event: event) }
            start = end
        }
        #expect(assembler.isComplete)
        let choice = try #require(assembler.response["choices"]?.arrayValue?.first)
        #expect(choice["message"]?["content"] == .string(tokens.joined()))
        let entries = try #require(choice["logprobs"]?["content"]?.arrayValue)
        #expect(entries.compactMap { $0["token"]?.stringValue } == tokens)
        #expect(entries.last?["logprob"] == (try JSONValue(parsing: "-0.91")))
        #expect(choice["logprobs"]?["refusal"] == .null)
        #expect(choice["finish_reason"] == .string("length"))
    }

    @Test func anIdentityKeyIsReplacedWhereOtherStringsAreJoined() throws {
        let assembler = Self.assemble([
            #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"audio":{"id":"audio_1","type":"wav","transcript":"a"}},"finish_reason":null}]}"#,
            #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","audio":{"id":"audio_1","type":"wav","transcript":"b"}},"finish_reason":"stop"}]}"#,
        ])
        let message = try #require(assembler.response["choices"]?.arrayValue?.first?["message"])
        #expect(message["role"] == .string("assistant"))
        #expect(message["audio"] == .object(["id": .string("audio_1"), "type": .string("wav"), "transcript": .string("ab")]))
    }
}
