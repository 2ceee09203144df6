import LLMCache
import LLMCacheAnthropic
import Testing

@Suite struct MessagesStreamReplayTests {
    /// A stored message to replay.
    struct Stored: Sendable, CustomTestStringConvertible {
        let name: String
        let body: String
        var testDescription: String { name }
        func json() throws -> JSONValue { try JSONValue(parsing: body) }
    }

    static let messages: [Stored] = [
        Stored(name: "plain text", body: Captured.plainMessage),
        Stored(name: "text and tool use", body: Captured.toolUseMessage),
        Stored(name: "thinking without usage", body: Captured.thinkingMessage),
        Stored(
            name: "several text blocks",
            body: #"{"id":"msg_01Several","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"First, a short one."},{"type":"text","text":""},{"type":"text","text":"Then a longer paragraph that has to be cut into a good number of pieces.\n\nWith a blank line."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":41}}"#
        ),
        Stored(
            name: "tool use with nested input",
            body: #"{"id":"msg_01Nested","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Booking it."},{"type":"tool_use","id":"toolu_01Nested","name":"book","input":{"trip":{"legs":[{"from":"OSL","to":"BGO","seats":2,"price":1299.5,"refundable":false},{"from":"BGO","to":"OSL","seats":2,"price":1.05e3,"refundable":true}],"note":"aisle \"please\"\\window\nok","tags":[],"extra":null,"meta":{}}}},{"type":"tool_use","id":"toolu_01Empty","name":"now","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":512,"output_tokens":88}}"#
        ),
        Stored(
            name: "thinking, text and tool use",
            body: #"{"id":"msg_01Think","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"The user wants the weather. I should call the tool with Paris, then answer in one sentence.","signature":"ErUBCkYIBRgCIkBXGq4Jm1a2ZlM5uO0y8wGfA0xqjZ3bH2eFqV8sQ7yW1Lh9g=="},{"type":"text","text":"Let me look that up."},{"type":"tool_use","id":"toolu_01Paris","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":620,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":145,"service_tier":"standard"}}"#
        ),
        Stored(
            name: "redacted thinking",
            body: #"{"id":"msg_01Redacted","type":"message","role":"assistant","model":"claude-3-7-sonnet-20250219","content":[{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB8URj2pLmN3kLu3mDwVrJBk"},{"type":"thinking","thinking":"Now I can answer.","signature":"EqoBCkgIARABGAIiQL"},{"type":"text","text":"Here is the answer."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":90,"output_tokens":300}}"#
        ),
        Stored(
            name: "server tool use and web search results, cited",
            body: #"{"id":"msg_01Search","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"I'll check the current weather in New York City for you."},{"type":"server_tool_use","id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","name":"web_search","input":{"query":"weather NYC today"}},{"type":"web_search_tool_result","tool_use_id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","content":[{"type":"web_search_result","title":"Weather in New York City in May 2025","url":"https://world-weather.info/forecast/usa/new_york/may-2025/","encrypted_content":"Ev0DCioIAxgCIiQ3NmU4ZmI4OC1k","page_age":null}]},{"type":"text","text":"It is sunny and 22 °C","citations":[{"type":"web_search_result_location","cited_text":"Sunny, high of 22 °C","url":"https://world-weather.info/forecast/usa/new_york/may-2025/","title":"Weather in New York City in May 2025","encrypted_index":"Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm"}]},{"type":"text","text":".","citations":null}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10682,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":510,"server_tool_use":{"web_search_requests":1}}}"#
        ),
        Stored(
            name: "document citations",
            body: #"{"id":"msg_01Cite","type":"message","role":"assistant","model":"claude-opus-4-1-20250805","content":[{"type":"text","text":"According to the document, "},{"type":"text","text":"the grass is green","citations":[{"type":"char_location","cited_text":"The grass is green.","document_index":0,"document_title":"Example Document","start_char_index":0,"end_char_index":20},{"type":"page_location","cited_text":"Green grass.","document_index":1,"document_title":null,"start_page_number":2,"end_page_number":3}]},{"type":"text","text":" and the sky is blue.","citations":[]}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":640,"output_tokens":42}}"#
        ),
        Stored(
            name: "stopped at a stop sequence",
            body: #"{"id":"msg_01Stop","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"1. Apples\n2. Pears\n"}],"stop_reason":"stop_sequence","stop_sequence":"3.","usage":{"input_tokens":18,"output_tokens":9}}"#
        ),
        Stored(
            name: "non-ASCII text",
            body: #"{"id":"msg_01Intl","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Grüße aus Tromsø! 東京は晴れ。Ελληνικά και café — 👩‍👩‍👧‍👦 family, 🇳🇴 flag, e\u0301 combined, \u0000 nul and \"quotes\"."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":22,"output_tokens":48}}"#
        ),
        Stored(
            name: "prompt cache usage and extra fields",
            body: #"{"id":"msg_01Cache","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","container":null,"stop_details":null,"content":[{"type":"text","text":"Cached."}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":849,"cache_creation_input_tokens":1200,"cache_read_input_tokens":34000,"cache_creation":{"ephemeral_5m_input_tokens":1200,"ephemeral_1h_input_tokens":0},"output_tokens":47,"service_tier":"standard","inference_geo":"not_available","server_tool_use":null}}"#
        ),
        Stored(
            name: "no content",
            body: #"{"id":"msg_01None","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":0}}"#
        ),
    ]

    static func assembled(_ events: [JSONValue]) -> MessagesStreamAssembler {
        var assembler = MessagesStreamAssembler()
        for event in events { assembler.consume(event: event.jsonBytes) }
        return assembler
    }

    @Test(arguments: messages, [1, 5, 16, 4096])
    func replayedEventsAssembleBackIntoTheStoredMessage(stored: Stored, pieceLength: Int) throws {
        let message = try stored.json()
        let events = try #require(MessagesStreamReplay(pieceLength: pieceLength).events(of: message))
        let assembler = Self.assembled(events)
        #expect(assembler.isComplete)
        #expect(assembler.response == message)
    }

    @Test(arguments: messages)
    func theEventStreamFramesEachEventWithItsNameAndAssemblesBack(stored: Stored) throws {
        let message = try stored.json()
        let bytes = try #require(MessagesStreamReplay().eventStream(of: message))
        let text = String(decoding: bytes, as: UTF8.self)
        let frames = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        for frame in frames {
            let lines = frame.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 2)
            let name = try #require(lines.first?.dropFirst("event: ".count))
            let data = try JSONValue(parsing: String(try #require(lines.last?.dropFirst("data: ".count))))
            #expect(lines.first?.hasPrefix("event: ") == true && lines.last?.hasPrefix("data: ") == true)
            #expect(data["type"] == .string(String(name)))
        }
        #expect(assemble(sse: text, readSize: 13).response == message)
    }

    @Test(arguments: messages)
    func theEventsFollowAnthropicsOrder(stored: Stored) throws {
        let message = try stored.json()
        let pieceLength = 16
        let events = try #require(MessagesStreamReplay(pieceLength: pieceLength).events(of: message))
        let types = events.compactMap { $0["type"]?.stringValue }
        #expect(types.prefix(2) == ["message_start", "ping"])
        #expect(types.suffix(2) == ["message_delta", "message_stop"])

        let start = try #require(events.first?["message"])
        #expect(start["content"] == .array([]))
        #expect(start["stop_reason"] == .null)
        #expect(start["stop_sequence"] == .null)
        if let output = start["usage"]?["output_tokens"]?.numberValue?.intValue { #expect(output <= 1) }
        #expect(start["usage"]?["input_tokens"] == message["usage"]?["input_tokens"])

        // Blocks open in order, each closed before the next opens, and every
        // delta names the open block.
        var open: Int?
        var next = 0
        for event in events.dropFirst(2).dropLast(2) {
            let index = event["index"]?.numberValue?.intValue
            switch event["type"]?.stringValue {
            case "content_block_start":
                #expect(open == nil)
                #expect(index == next)
                open = index
                next += 1
            case "content_block_delta":
                #expect(index != nil && index == open)
                if let piece = event["delta"]?["text"]?.stringValue ?? event["delta"]?["thinking"]?.stringValue {
                    #expect(piece.count <= pieceLength)
                }
            case "content_block_stop":
                #expect(index != nil && index == open)
                open = nil
            default:
                Issue.record("unexpected event \(event)")
            }
        }
        #expect(open == nil)
        #expect(next == message["content"]?.arrayValue?.count)

        let delta = try #require(events.dropLast().last)
        #expect(delta["delta"]?["stop_reason"] == message["stop_reason"])
        #expect(delta["usage"]?["output_tokens"] == message["usage"]?["output_tokens"])
    }

    @Test func blocksStartTheWayAnthropicStartsThem() throws {
        let message = try JSONValue(parsing: Self.messages.first { $0.name == "thinking, text and tool use" }!.body)
        let events = try #require(MessagesStreamReplay().events(of: message))
        let starts = events.filter { $0["type"] == .string("content_block_start") }.compactMap { $0["content_block"] }
        #expect(starts.count == 3)
        #expect(starts[0] == .object(["type": .string("thinking"), "thinking": .string(""), "signature": .string("")]))
        #expect(starts[1] == .object(["type": .string("text"), "text": .string("")]))
        #expect(starts[2] == .object(["type": .string("tool_use"), "id": .string("toolu_01Paris"), "name": .string("get_weather"), "input": .object([:])]))
        let deltaTypes = events.compactMap { $0["delta"]?["type"]?.stringValue }
        #expect(deltaTypes.filter { $0 == "signature_delta" }.count == 1)
        #expect(deltaTypes.contains("input_json_delta"))
    }

    @Test func textIsCutBetweenWords() {
        let replay = MessagesStreamReplay(pieceLength: 16)
        let pieces = replay.eventsText("The quick brown fox jumps over the lazy dog again and again")
        #expect(pieces.joined() == "The quick brown fox jumps over the lazy dog again and again")
        #expect(pieces.dropLast().allSatisfy { $0.hasSuffix(" ") })
        #expect(pieces.allSatisfy { $0.count <= 16 })
    }

    @Test(arguments: [
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[]}"#,
        #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        #"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":"text"}"#,
        #"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":["text"]}"#,
        #"[1, 2]"#,
    ])
    func whatIsNotAMessageIsNotReplayed(body: String) throws {
        let value = try JSONValue(parsing: body)
        #expect(MessagesStreamReplay().events(of: value) == nil)
        #expect(MessagesStreamReplay().eventStream(of: value) == nil)
    }
}

extension MessagesStreamReplay {
    /// The text deltas a one-block message of `text` streams as.
    func eventsText(_ text: String) -> [String] {
        let message: JSONValue = .object([
            "id": .string("msg_1"), "type": .string("message"), "role": .string("assistant"), "model": .string("m"),
            "content": .array([.object(["type": .string("text"), "text": .string(text)])]),
            "stop_reason": .string("end_turn"), "stop_sequence": .null,
        ])
        return (events(of: message) ?? []).compactMap { $0["delta"]?["text"]?.stringValue }
    }
}
