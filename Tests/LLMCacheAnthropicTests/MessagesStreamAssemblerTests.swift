import LLMCache
import LLMCacheAnthropic
import Testing

/// Feeds `stream` (SSE text) through the parser a relay uses, in reads of
/// `readSize` bytes, into a fresh assembler.
func assemble(sse stream: String, readSize: Int = 7) -> MessagesStreamAssembler {
    var parser = SSEParser()
    var assembler = MessagesStreamAssembler()
    let bytes = Array(stream.utf8)
    var start = 0
    while start < bytes.count {
        let end = min(start + readSize, bytes.count)
        for event in parser.feed(bytes[start..<end]) { assembler.consume(event: event) }
        start = end
    }
    return assembler
}

/// Feeds event data, one JSON text per event, into a fresh assembler.
func assemble(events: [String]) -> MessagesStreamAssembler {
    var assembler = MessagesStreamAssembler()
    for event in events { assembler.consume(event: Array(event.utf8)) }
    return assembler
}

@Suite struct MessagesStreamAssemblerTests {
    struct CapturedStream: Sendable, CustomTestStringConvertible {
        let name: String
        let stream: String
        let message: String
        var testDescription: String { name }
    }

    static let capturedStreams = [
        CapturedStream(name: "text", stream: Captured.basicStream, message: Captured.basicMessage),
        CapturedStream(name: "text and tool use", stream: Captured.toolUseStream, message: Captured.toolUseMessage),
        CapturedStream(name: "extended thinking", stream: Captured.thinkingStream, message: Captured.thinkingMessage),
    ]

    @Test(arguments: capturedStreams)
    func aDocumentedStreamAssemblesIntoTheMessageANonStreamedCallReturns(captured: CapturedStream) throws {
        let assembler = assemble(sse: captured.stream)
        #expect(assembler.sawEnd)
        #expect(assembler.isComplete)
        #expect(assembler.response == (try JSONValue(parsing: captured.message)))
    }

    @Test func pingsAreNotCountedAsEvents() {
        let assembler = assemble(sse: Captured.basicStream)
        // Eight events on the wire, one of them a ping.
        #expect(assembler.eventCount == 7)
        var pingsOnly = MessagesStreamAssembler()
        pingsOnly.consume(event: Array(#"{"type": "ping"}"#.utf8))
        #expect(pingsOnly.eventCount == 0)
    }

    static let start = #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#
    static let textStart = #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#
    static let textDelta = #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#
    static let stop0 = #"{"type":"content_block_stop","index":0}"#
    static let messageDelta = #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#
    static let messageStop = #"{"type":"message_stop"}"#

    struct BrokenStream: Sendable, CustomTestStringConvertible {
        let name: String
        let events: [String]
        let sawEnd: Bool
        var testDescription: String { name }
    }

    static let brokenStreams = [
        BrokenStream(
            name: "an overloaded_error event",
            events: [start, textStart, textDelta, #"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#],
            sawEnd: false
        ),
        BrokenStream(name: "cut before message_stop", events: [start, textStart, textDelta, stop0, messageDelta], sawEnd: false),
        BrokenStream(name: "cut inside a block", events: [start, textStart, textDelta], sawEnd: false),
        BrokenStream(
            name: "data that is not JSON",
            events: [start, textStart, "{\"type\":\"content_block_delta\",\"index\":0,", stop0, messageDelta, messageStop],
            sawEnd: true
        ),
        BrokenStream(
            name: "tool input that is not JSON",
            events: [
                start,
                #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
                #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San"}}"#,
                stop0, messageDelta, messageStop,
            ],
            sawEnd: true
        ),
        BrokenStream(name: "a delta for a block never started", events: [start, textDelta, stop0, messageDelta, messageStop], sawEnd: true),
        BrokenStream(name: "no message_start", events: [textStart, textDelta, stop0, messageDelta, messageStop], sawEnd: true),
        BrokenStream(name: "a block started twice", events: [start, textStart, textStart, textDelta, stop0, messageDelta, messageStop], sawEnd: true),
    ]

    @Test(arguments: brokenStreams)
    func aBrokenStreamIsNotComplete(broken: BrokenStream) {
        let assembler = assemble(events: broken.events)
        #expect(assembler.sawEnd == broken.sawEnd)
        #expect(!assembler.isComplete)
    }

    @Test func messageDeltaUsageReplacesTheFieldsItCarriesAndKeepsTheOthers() throws {
        let assembler = assemble(events: [
            Self.start, Self.textStart, Self.textDelta, Self.stop0,
            #"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":12,"cache_read_input_tokens":null,"output_tokens":40,"server_tool_use":{"web_search_requests":1}}}"#,
            Self.messageStop,
        ])
        #expect(assembler.isComplete)
        let usage = try #require(assembler.response["usage"])
        #expect(usage == (try JSONValue(parsing: #"{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":40,"service_tier":"standard","server_tool_use":{"web_search_requests":1}}"#)))
        #expect(assembler.response["stop_reason"] == .string("max_tokens"))
    }

    @Test func aNullInMessageDeltaClearsOnlyTheStopFields() throws {
        let assembler = assemble(events: [
            #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":"END","container":{"id":"container_1","expires_at":"2025-09-01T00:00:00Z"},"usage":{"input_tokens":3,"output_tokens":1}}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null,"container":null},"usage":{"output_tokens":4}}"#,
            Self.messageStop,
        ])
        #expect(assembler.isComplete)
        #expect(assembler.response["stop_sequence"] == .null)
        #expect(assembler.response["container"]?["id"] == .string("container_1"))
        #expect(assembler.response["content"] == .array([]))
    }

    @Test func aToolCalledWithoutInputTextGetsAnEmptyObject() throws {
        let assembler = assemble(events: [
            Self.start,
            #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{}}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            Self.stop0, Self.messageDelta, Self.messageStop,
        ])
        #expect(assembler.isComplete)
        let block = try #require(assembler.response["content"]?.arrayValue?.first)
        #expect(block["input"] == .object([:]))
    }

    @Test func citationsAndUnknownDeltasAreMergedIntoTheirBlock() throws {
        let citation = #"{"type":"char_location","cited_text":"The grass is green.","document_index":0,"document_title":"Facts","start_char_index":0,"end_char_index":20}"#
        let assembler = assemble(events: [
            Self.start, Self.textStart, Self.textDelta,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":\#(citation)}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":\#(citation)}}"#,
            #"{"type":"content_block_start","index":1,"content_block":{"type":"compaction","content":"Earlier"}}"#,
            #"{"type":"content_block_delta","index":1,"delta":{"type":"compaction_delta","content":", we spoke."}}"#,
            #"{"type":"content_block_stop","index":1}"#,
            Self.stop0, Self.messageDelta, Self.messageStop,
        ])
        #expect(assembler.isComplete)
        let content = try #require(assembler.response["content"]?.arrayValue)
        let cited = try JSONValue(parsing: citation)
        #expect(content.first == .object(["type": .string("text"), "text": .string("Hi"), "citations": .array([cited, cited])]))
        #expect(content.last == .object(["type": .string("compaction"), "content": .string("Earlier, we spoke.")]))
    }

    @Test func eventsAfterMessageStopAreNotPartOfTheAnswer() {
        let assembler = assemble(events: [
            Self.start, Self.textStart, Self.textDelta, Self.stop0, Self.messageDelta, Self.messageStop,
            #"{"type": "error", "error": {"type": "api_error", "message": "late"}}"#,
        ])
        #expect(assembler.isComplete)
        #expect(assembler.response["content"]?.arrayValue?.first?["text"] == .string("Hi"))
    }

    @Test func aLongAnswerIsAssembledWhole() {
        var assembler = MessagesStreamAssembler()
        assembler.consume(event: Array(Self.start.utf8))
        assembler.consume(event: Array(Self.textStart.utf8))
        let delta = Array(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word "}}"#.utf8)
        for _ in 0..<40_000 { assembler.consume(event: delta) }
        for event in [Self.stop0, Self.messageDelta, Self.messageStop] { assembler.consume(event: Array(event.utf8)) }
        #expect(assembler.isComplete)
        #expect(assembler.response["content"]?.arrayValue?.first?["text"]?.stringValue?.utf8.count == 200_000)
    }

    @Test func theTimeOutEventIsAnAnthropicErrorEventWithItsEventLine() throws {
        let bytes = MessagesStreamAssembler.errorEvent(message: "the upstream stream was cut")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("event: error\ndata: "))
        #expect(text.hasSuffix("\n\n"))
        var parser = SSEParser()
        let events = parser.feed(bytes)
        #expect(events.count == 1)
        let data = try JSONValue(parsing: try #require(events.first))
        #expect(data == (try JSONValue(parsing: #"{"type":"error","error":{"type":"timeout_error","message":"the upstream stream was cut"}}"#)))
        // And an assembler reading it reports an incomplete stream.
        var assembler = MessagesStreamAssembler()
        for event in [Self.start, Self.textStart] { assembler.consume(event: Array(event.utf8)) }
        for event in events { assembler.consume(event: event) }
        #expect(!assembler.isComplete)
    }
}
