import LLMCache
import LLMCacheOpenAI
import Testing

@Suite struct StreamReplayTests {
    /// A stored answer to replay.
    struct Answer: Sendable, CustomTestStringConvertible {
        let name: String
        let body: String
        var testDescription: String { name }
        func json() throws -> JSONValue { try JSONValue(parsing: body) }
    }

    static let logprobsAnswer = Answer(
        name: "logprobs that spell the content",
        body: #"{"id":"chatcmpl-C3pLq","object":"chat.completion","created":1755000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"message":{"role":"assistant","content":"Hi! there","refusal":null,"annotations":[]},"logprobs":{"content":[{"token":"Hi","logprob":-0.0012,"bytes":[72,105],"top_logprobs":[]},{"token":"!","logprob":-0.31,"bytes":[33],"top_logprobs":[]},{"token":" there","logprob":-1.05,"bytes":[32,116,104,101,114,101],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#
    )

    /// The tokens end mid-character (bytes only), so their strings do not
    /// spell the content.
    static let partialTokensAnswer = Answer(
        name: "logprobs that do not spell the content",
        body: #"{"id":"chatcmpl-Pt1","object":"chat.completion","created":1755000001,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Café time, with a long sentence after it.","refusal":null},"logprobs":{"content":[{"token":"Caf","logprob":-0.2,"bytes":[67,97,102],"top_logprobs":[]},{"token":"\\xc3","logprob":-0.1,"bytes":[195],"top_logprobs":[]},{"token":"\\xa9","logprob":-0.1,"bytes":[169],"top_logprobs":[]}],"refusal":null},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}"#
    )

    static let reasoningAnswer = Answer(
        name: "DeepSeek reasoning_content",
        body: #"{"id":"0b6f0a4e-5c1d-4f7e-9a55-3c2b1d0e9f88","object":"chat.completion","created":1738000000,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08_prod0225","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","reasoning_content":"The user greets me. I should greet them back and offer help, briefly."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":30,"total_tokens":43,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":20},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13}}"#
    )

    static let searchAnswer = Answer(
        name: "annotations, audio and provider fields",
        body: #"{"id":"gen-1745000000-AbCdEfGh","provider":"OpenAI","citations":["https://weather.example/oslo"],"object":"chat.completion","created":1745000000,"model":"openai/gpt-4o-audio-preview","service_tier":"default","system_fingerprint":"fp_b2d1f8c6a4","choices":[{"index":0,"message":{"role":"assistant","content":"Oslo is sunny today.","refusal":null,"reasoning":"Look it up first.","annotations":[{"type":"url_citation","url_citation":{"end_index":13,"start_index":0,"title":"Oslo weather","url":"https://weather.example/oslo"}}],"audio":{"id":"audio_6801b2c3d4e5","data":"UklGRiQAAABXQVZF","transcript":"Oslo is sunny today.","expires_at":1744463900}},"logprobs":null,"finish_reason":"stop","native_finish_reason":"stop"}],"usage":{"prompt_tokens":8,"completion_tokens":6,"total_tokens":14}}"#
    )

    static let answers: [Answer] = [
        Answer(name: "OpenAI chat.completion", body: Captured.chatCompletion),
        Answer(name: "OpenAI tool call", body: Captured.toolCallCompletion),
        Answer(name: "legacy text_completion", body: Captured.completion),
        logprobsAnswer,
        partialTokensAnswer,
        Answer(
            name: "refusal with logprobs",
            body: #"{"id":"chatcmpl-Rf1","object":"chat.completion","created":1755000002,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help."},"logprobs":{"content":null,"refusal":[{"token":"I","logprob":-0.01,"bytes":[73],"top_logprobs":[]},{"token":" can't","logprob":-0.02,"bytes":[32,99,97,110,39,116],"top_logprobs":[]},{"token":" help.","logprob":-0.03,"bytes":[32,104,101,108,112,46],"top_logprobs":[]}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":3,"total_tokens":23}}"#
        ),
        reasoningAnswer,
        searchAnswer,
        Answer(
            name: "tool calls with fields of their own, vLLM stop_reason",
            body: #"{"id":"chatcmpl-9f2c47d1a0b64e0f","object":"chat.completion","created":1745000000,"model":"Qwen/Qwen3-8B","prompt_logprobs":null,"choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"Two cities, two calls.","tool_calls":[{"id":"chatcmpl-tool-4c1e","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Oslo\", \"unit\": \"celsius\"}"},"extra_content":{"google":{"thought_signature":"Cs4BAdHtim9"}}},{"id":"chatcmpl-tool-8a2f","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Bergen\"}"}}]},"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}],"usage":{"prompt_tokens":60,"total_tokens":90,"completion_tokens":30}}"#
        ),
        Answer(
            name: "two choices with logprobs",
            body: #"{"id":"chatcmpl-N2","object":"chat.completion","created":1755000003,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"message":{"role":"assistant","content":"Yes","refusal":null},"logprobs":{"content":[{"token":"Yes","logprob":-0.1,"bytes":[89,101,115],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"No way","refusal":null},"logprobs":{"content":[{"token":"No","logprob":-0.7,"bytes":[78,111],"top_logprobs":[]},{"token":" way","logprob":-0.9,"bytes":[32,119,97,121],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":4,"total_tokens":11}}"#
        ),
        Answer(
            name: "legacy completion with logprobs that spell the text",
            body: #"{"id":"cmpl-A1b2C3","object":"text_completion","created":1718000000,"model":"gpt-3.5-turbo-instruct","choices":[{"text":"\n\nThis works","index":0,"logprobs":{"tokens":["\n\n","This"," works"],"token_logprobs":[-0.04,-0.52,-1.7],"top_logprobs":[{"\n\n":-0.04},{"This":-0.52},{" works":-1.7}],"text_offset":[7,9,13]},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}"#
        ),
        Answer(
            name: "legacy completion with echoed logprobs",
            body: #"{"id":"cmpl-E1","object":"text_completion","created":1718000001,"model":"davinci-002","choices":[{"text":"Say this is a test","index":0,"logprobs":{"tokens":["Say"," this"],"token_logprobs":[null,-3.2],"top_logprobs":[null,{" this":-3.2}],"text_offset":[0,3]},"finish_reason":"length","stop_reason":null}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#
        ),
    ]

    static func assembled(_ chunks: [JSONValue]) -> StreamAssembler {
        var assembler = StreamAssembler()
        for chunk in chunks { assembler.consume(event: chunk.jsonBytes) }
        assembler.consume(event: SSEParser.doneMarker)
        return assembler
    }

    static func choice(_ chunk: JSONValue) -> JSONValue? { chunk["choices"]?.arrayValue?.first }

    @Test(arguments: answers)
    func replayedEventsAssembleBackIntoTheStoredAnswer(answer: Answer) throws {
        let stored = try answer.json()
        let chunks = try #require(StreamReplay().chunks(of: stored, includeUsage: true))
        let assembler = Self.assembled(chunks)
        #expect(assembler.isComplete)
        #expect(assembler.response == stored)
    }

    @Test(arguments: answers)
    func everyChunkCarriesTheStoredTopLevelFields(answer: Answer) throws {
        let stored = try #require(try answer.json().objectValue)
        let chunks = try #require(StreamReplay().chunks(of: .object(stored), includeUsage: true))
        var expected = stored
        for name in ["choices", "usage", "object"] { expected[name] = nil }
        for chunk in chunks {
            var header = try #require(chunk.objectValue)
            for name in ["choices", "usage", "object"] { header[name] = nil }
            #expect(header == expected)
        }
        #expect(chunks.filter { $0["usage"] != nil }.count == (stored["usage"] == nil ? 0 : 1))
    }

    @Test func logprobsThatSpellTheContentAreStreamedOneTokenPerChunk() throws {
        let stored = try Self.logprobsAnswer.json()
        let entries = try #require(stored["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue)
        let chunks = try #require(StreamReplay().chunks(of: stored))
        let contentChunks = chunks.compactMap(Self.choice).filter { ($0["delta"]?["content"]?.stringValue ?? "") != "" }
        #expect(contentChunks.map { $0["delta"]?["content"] } == entries.map { $0["token"] })
        #expect(contentChunks.map { $0["logprobs"] } == entries.map { .object(["content": .array([$0]), "refusal": .null]) })
    }

    @Test func logprobsThatDoNotSpellTheContentRideWholeOnTheFirstContentChunk() throws {
        let stored = try Self.partialTokensAnswer.json()
        let logprobs = stored["choices"]?.arrayValue?.first?["logprobs"]
        let choices = try #require(StreamReplay(pieceLength: 8).chunks(of: stored)).compactMap(Self.choice)
        let contentChunks = choices.filter { ($0["delta"]?["content"]?.stringValue ?? "") != "" }
        #expect(contentChunks.count > 3)
        #expect(contentChunks.first?["logprobs"] == logprobs)
        #expect(choices.filter { $0["logprobs"] != .null }.count == 1)
    }

    @Test func legacyLogprobsThatSpellTheTextAreStreamedOneTokenPerChunk() throws {
        let stored = try #require(Self.answers.first { $0.name == "legacy completion with logprobs that spell the text" }).json()
        let choices = try #require(StreamReplay().chunks(of: stored)).compactMap(Self.choice)
        #expect(choices.map { $0["text"] } == [.string("\n\n"), .string("This"), .string(" works"), .string("")])
        #expect(choices[1]["logprobs"] == (try JSONValue(parsing: #"{"tokens":["This"],"token_logprobs":[-0.52],"top_logprobs":[{"This":-0.52}],"text_offset":[9]}"#)))
    }

    @Test func reasoningStreamsInPiecesBeforeTheContent() throws {
        let stored = try Self.reasoningAnswer.json()
        let deltas = try #require(StreamReplay().chunks(of: stored)).compactMap { Self.choice($0)?["delta"] }
        let reasoning = deltas.indices.filter { (deltas[$0]["reasoning_content"]?.stringValue ?? "") != "" }
        let content = deltas.indices.filter { (deltas[$0]["content"]?.stringValue ?? "") != "" }
        #expect(reasoning.count > 2)
        #expect(content.count > 2)
        #expect(reasoning.last! < content.first!)
    }

    @Test func fieldsWithoutAStreamingFormComeAfterTheContentAndOnTheFinishChunk() throws {
        let stored = try Self.searchAnswer.json()
        let choices = try #require(StreamReplay().chunks(of: stored)).compactMap(Self.choice)
        let lastContent = try #require(choices.lastIndex { ($0["delta"]?["content"]?.stringValue ?? "") != "" })
        let extras = choices.indices.filter { choices[$0]["delta"]?["annotations"] != nil }
        #expect(extras.count == 1)
        #expect(extras[0] > lastContent)
        #expect(choices[extras[0]]["delta"]?["audio"] == stored["choices"]?.arrayValue?.first?["message"]?["audio"])
        #expect(choices.filter { $0["native_finish_reason"] != nil }.map { $0["finish_reason"] } == [.string("stop")])
    }
}
