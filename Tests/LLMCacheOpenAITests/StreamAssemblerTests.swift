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
}
