import LLMCache
import LLMCacheOpenAI
import Testing

@Suite("SSE parsing, stream assembly and replay")
struct StreamFormatTests {
    static let stream = """
    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}

    : a comment line
    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\\"a\\""}}]},"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":": 1}"}}]},"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

    data: [DONE]


    """

    @Test("events split at any byte boundary parse the same", arguments: [1, 2, 7, 64, 100_000])
    func splitAnywhere(readSize: Int) {
        var parser = SSEParser()
        var events: [[UInt8]] = []
        let bytes = Array(Self.stream.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + readSize)
            events += parser.feed(bytes[start..<end])
            start = end
        }
        #expect(events.count == 7)
        #expect(events.last == SSEParser.doneMarker)
        #expect(!parser.hasPartialEvent)
    }

    @Test("CRLF line endings and multi-line data")
    func crlfAndMultiline() {
        var parser = SSEParser()
        let events = parser.feed(Array("data: a\r\ndata: b\r\n\r\nevent: x\r\ndata: c\r\n\r\n".utf8))
        #expect(events == [Array("a\nb".utf8), Array("c".utf8)])
    }

    func assembled() -> StreamAssembler {
        var parser = SSEParser()
        var assembler = StreamAssembler()
        for event in parser.feed(Array(Self.stream.utf8)) { assembler.consume(event: event) }
        return assembler
    }

    @Test("a stream assembles into the chat.completion a plain call returns")
    func assembles() throws {
        let assembler = assembled()
        #expect(assembler.isComplete)
        let response = assembler.response
        #expect(response["object"] == .string("chat.completion"))
        #expect(response["id"] == .string("c1"))
        let message = try #require(response["choices"]?.arrayValue?.first?["message"])
        #expect(message["content"] == .string("Hello"))
        let call = try #require(message["tool_calls"]?.arrayValue?.first)
        #expect(call["id"] == .string("call_1"))
        #expect(call["function"]?["arguments"] == .string("{\"a\": 1}"))
        #expect(response["choices"]?.arrayValue?.first?["finish_reason"] == .string("tool_calls"))
    }

    @Test("a stream without [DONE], or with an error event, is not complete")
    func incomplete() {
        var assembler = StreamAssembler()
        assembler.consume(event: Array(#"{"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}"#.utf8))
        #expect(!assembler.isComplete)
        assembler.consume(event: Array(#"{"error":{"message":"overloaded"}}"#.utf8))
        assembler.consume(event: SSEParser.doneMarker)
        #expect(!assembler.isComplete)
    }

    @Test("replay cuts content and arguments into several chunks that assemble back to the same answer")
    func replayRoundTrip() throws {
        let original = assembled().response
        let long = try JSONValue(parsing: #"{"id":"c2","object":"chat.completion","created":2,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog, twice over, and then rests."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":15,"total_tokens":18}}"#)
        for response in [original, long] {
            let chunks = try #require(StreamReplay().chunks(of: response, includeUsage: true))
            #expect(chunks.count >= 4)
            #expect(chunks.allSatisfy { $0["object"] == .string("chat.completion.chunk") })
            var assembler = StreamAssembler()
            for chunk in chunks { assembler.consume(event: chunk.jsonBytes) }
            assembler.consume(event: SSEParser.doneMarker)
            #expect(assembler.isComplete)
            #expect(assembler.response["choices"] == response["choices"].map { choices in
                .array(choices.arrayValue!.map { choice in
                    var fields = choice.objectValue!
                    fields["logprobs"] = .null
                    return .object(fields)
                })
            })
        }
        let content = try #require(StreamReplay().chunks(of: long)).compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }
        #expect(content.count > 4)
        #expect(content.joined() == "The quick brown fox jumps over the lazy dog, twice over, and then rests.")
    }

    @Test("a body that is not a completion has no replay")
    func notACompletion() throws {
        #expect(StreamReplay().chunks(of: try JSONValue(parsing: #"{"object":"list","data":[]}"#)) == nil)
    }
}
