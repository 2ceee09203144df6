import Foundation
import LLMCache
import LLMCacheOpenAI
import Testing

/// Streams of `POST /v1/responses` with `"stream": true`.
enum CapturedResponses {
    /// A live OpenAI stream (o4-mini, reasoning summaries on), as captured in
    /// dotnet/extensions, test/Libraries/Microsoft.Extensions.AI.OpenAI.Tests/
    /// OpenAIResponseClientTests.cs, `BasicReasoningResponse_Streaming`
    /// (its deltas "compressed down" there; every event as OpenAI sent it,
    /// `obfuscation` padding included). A reasoning item without `status`,
    /// then a message; the terminal event carries the whole response.
    static let reasoningStream = """
        event: response.created
        data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_68b5ebab461881969ed94149372c2a530698ecbf1b9f2704","object":"response","created_at":1756752811,"status":"in_progress","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"o4-mini-2025-04-16","output":[],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":"low","summary":"detailed"},"safety_identifier":null,"service_tier":"auto","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

        event: response.in_progress
        data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_68b5ebab461881969ed94149372c2a530698ecbf1b9f2704","object":"response","created_at":1756752811,"status":"in_progress","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"o4-mini-2025-04-16","output":[],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":"low","summary":"detailed"},"safety_identifier":null,"service_tier":"auto","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","type":"reasoning","summary":[]}}

        event: response.reasoning_summary_part.added
        data: {"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"delta":"**Calcul","obfuscation":"sLkbFySM"}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":5,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"delta":"ating","obfuscation":"dkm1f6DKqUj"}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":6,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"delta":" a","obfuscation":"X8ahc2lfCf9eA1"}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":7,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"delta":" simple","obfuscation":"1rLVyIaNl"}

        event: response.reasoning_summary_text.delta
        data: {"type":"response.reasoning_summary_text.delta","sequence_number":8,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"delta":" sum","obfuscation":"jCK7mgNR80Re"}

        event: response.reasoning_summary_text.done
        data: {"type":"response.reasoning_summary_text.done","sequence_number":9,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"text":"**Calculating a simple sum**"}

        event: response.reasoning_summary_part.done
        data: {"type":"response.reasoning_summary_part.done","sequence_number":10,"item_id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":"**Calculating a simple sum**"}}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":11,"output_index":0,"item":{"id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","type":"reasoning","summary":[{"type":"summary_text","text":"**Calculating a simple sum**"}]}}

        event: response.output_item.added
        data: {"type":"response.output_item.added","sequence_number":12,"output_index":1,"item":{"id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","type":"message","status":"in_progress","content":[],"role":"assistant"}}

        event: response.content_part.added
        data: {"type":"response.content_part.added","sequence_number":13,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":14,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":"The","logprobs":[],"obfuscation":"japg2KaCkjNsp"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":15,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" sum","logprobs":[],"obfuscation":"1BEqjKQ0KU41"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":16,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" of","logprobs":[],"obfuscation":"GUqom1rsdZsnT"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":17,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" the","logprobs":[],"obfuscation":"UmCms91yrTlg"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":18,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" first","logprobs":[],"obfuscation":"AyNbZpfTXo"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":19,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" ","logprobs":[],"obfuscation":"tuyz4HkKODFQRtk"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":20,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":"5","logprobs":[],"obfuscation":"QAwyISolmjXfTlc"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":21,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" positive","logprobs":[],"obfuscation":"2Euge1H"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":22,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" integers","logprobs":[],"obfuscation":"ih0Znt8"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":23,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" is","logprobs":[],"obfuscation":"oQihR5Pw8jRz5"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":24,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":" 15","logprobs":[],"obfuscation":"7TdJ1FWlZF8lTd"}

        event: response.output_text.delta
        data: {"type":"response.output_text.delta","sequence_number":25,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"delta":".","logprobs":[],"obfuscation":"x2VAJKlWI8qjgYq"}

        event: response.output_text.done
        data: {"type":"response.output_text.done","sequence_number":26,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"text":"The sum of the first 5 positive integers is 15.","logprobs":[]}

        event: response.content_part.done
        data: {"type":"response.content_part.done","sequence_number":27,"item_id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","output_index":1,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"The sum of the first 5 positive integers is 15."}}

        event: response.output_item.done
        data: {"type":"response.output_item.done","sequence_number":28,"output_index":1,"item":{"id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"The sum of the first 5 positive integers is 15."}],"role":"assistant"}}

        event: response.completed
        data: {"type":"response.completed","sequence_number":29,"response":{"id":"resp_68b5ebab461881969ed94149372c2a530698ecbf1b9f2704","object":"response","created_at":1756752811,"status":"completed","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"o4-mini-2025-04-16","output":[{"id":"rs_68b5ebabc0088196afb9fa86b487732d0698ecbf1b9f2704","type":"reasoning","summary":[{"type":"summary_text","text":"**Calculating a simple sum**"}]},{"id":"msg_68b5ebae5a708196b74b94f22ca8995e0698ecbf1b9f2704","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"The sum of the first 5 positive integers is 15."}],"role":"assistant"}],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":"low","summary":"detailed"},"safety_identifier":null,"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":17,"input_tokens_details":{"cached_tokens":0},"output_tokens":122,"output_tokens_details":{"reasoning_tokens":64},"total_tokens":139},"user":null,"metadata":{}}}


        """

    /// The data of every event of `stream`, as a relay feeds them.
    static func payloads(_ stream: String) -> [[UInt8]] {
        var parser = SSEParser()
        return parser.feed(Array(stream.utf8))
    }

    /// The data of the event of `stream` whose `type` is `type`.
    static func payload(of type: String, in stream: String) throws -> JSONValue {
        let events = try payloads(stream).map { try JSONValue(parsing: $0) }
        return try #require(events.first { $0["type"]?.stringValue == type })
    }

    /// The first events of a stream (`response.created`, `response.in_progress`,
    /// the first item opened), to build cut and failed streams from.
    static var opening: [[UInt8]] { Array(payloads(reasoningStream).prefix(4)) }
}

@Suite struct ResponsesStreamTests {
    static func assemble(_ payloads: [[UInt8]]) -> ResponsesStreamAssembler {
        var assembler = ResponsesStreamAssembler()
        for payload in payloads { assembler.consume(event: payload) }
        return assembler
    }

    static func assemble(_ payloads: [String]) -> ResponsesStreamAssembler {
        assemble(payloads.map { Array($0.utf8) })
    }

    // MARK: Assembling

    @Test func aCapturedStreamBecomesTheResponseItsTerminalEventCarries() throws {
        let assembler = Self.assemble(CapturedResponses.payloads(CapturedResponses.reasoningStream))
        #expect(assembler.isComplete)
        #expect(assembler.sawEnd)
        #expect(assembler.eventCount == 30)
        #expect(assembler.nextSequenceNumber == 30)
        let completed = try CapturedResponses.payload(of: "response.completed", in: CapturedResponses.reasoningStream)
        #expect(assembler.response == completed["response"])
        let object = try JSONDecoder().decode(ResponseObject.self, from: Data(assembler.response.jsonBytes))
        #expect(object.id == "resp_68b5ebab461881969ed94149372c2a530698ecbf1b9f2704")
        #expect(object.status == "completed")
        #expect(object.outputText == "The sum of the first 5 positive integers is 15.")
        #expect(object.usage?.outputTokensDetails?.reasoningTokens == 64)
    }

    @Test func aStreamSplitAnywhereAssemblesTheSame() throws {
        let bytes = Array(CapturedResponses.reasoningStream.utf8)
        let whole = Self.assemble(CapturedResponses.payloads(CapturedResponses.reasoningStream)).response
        for size in [1, 7, 100, 4096] {
            var parser = SSEParser()
            var assembler = ResponsesStreamAssembler()
            var start = 0
            while start < bytes.count {
                let end = min(start + size, bytes.count)
                for event in parser.feed(bytes[start..<end]) { assembler.consume(event: event) }
                start = end
            }
            #expect(assembler.isComplete)
            #expect(assembler.response == whole)
        }
    }

    @Test func anIncompleteResponseIsAWholeAnswer() throws {
        let incomplete = #"{"type":"response.incomplete","sequence_number":4,"response":{"id":"resp_1","object":"response","created_at":1,"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-4.1-mini","output":[{"id":"msg_1","type":"message","status":"incomplete","role":"assistant","content":[{"type":"output_text","text":"Once upon","annotations":[]}]}],"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}}"#
        let assembler = Self.assemble(CapturedResponses.opening + [Array(incomplete.utf8)])
        #expect(assembler.isComplete)
        #expect(assembler.response == (try json(incomplete))["response"])
    }

    @Test func aFailedResponseIsNotStored() {
        let failed = #"{"type":"response.failed","sequence_number":4,"response":{"id":"resp_1","object":"response","created_at":1,"status":"failed","error":{"code":"server_error","message":"The server had an error while processing your request."},"model":"gpt-4.1-mini","output":[]}}"#
        let assembler = Self.assemble(CapturedResponses.opening + [Array(failed.utf8)])
        #expect(assembler.sawEnd)
        #expect(assembler.sawError)
        #expect(!assembler.isComplete)
    }

    /// The documented flat shape, and the nested one OpenAI actually sends.
    @Test(arguments: [
        #"{"type":"error","code":"server_error","message":"Something went wrong","param":null,"sequence_number":4}"#,
        #"{"type":"error","sequence_number":4,"error":{"type":"too_many_requests","code":"too_many_requests","message":"Too Many Requests","param":null}}"#,
    ])
    func anErrorEventEndsTheStreamUnstored(_ error: String) {
        let assembler = Self.assemble(CapturedResponses.opening + [Array(error.utf8)])
        #expect(assembler.sawEnd)
        #expect(!assembler.isComplete)
    }

    @Test func aStreamCutBeforeItsTerminalEventIsNotComplete() {
        let payloads = CapturedResponses.payloads(CapturedResponses.reasoningStream)
        let assembler = Self.assemble(Array(payloads.dropLast()))
        #expect(!assembler.sawEnd)
        #expect(!assembler.isComplete)
        #expect(assembler.eventCount == payloads.count - 1)
    }

    @Test func dataThatIsNotJSONSpoilsTheStream() {
        let payloads = CapturedResponses.payloads(CapturedResponses.reasoningStream)
        let assembler = Self.assemble(Array(payloads.prefix(3)) + [Array("not-json".utf8)] + Array(payloads.dropFirst(3)))
        #expect(assembler.sawEnd)
        #expect(!assembler.isComplete)
    }

    @Test func aTerminalEventWithoutAResponseIsNotComplete() {
        let assembler = Self.assemble([#"{"type":"response.completed","sequence_number":0}"#])
        #expect(assembler.sawEnd)
        #expect(!assembler.isComplete)
    }

    @Test func whatComesAfterTheTerminalEventIsNoPartOfTheAnswer() throws {
        var payloads = CapturedResponses.payloads(CapturedResponses.reasoningStream)
        let expected = Self.assemble(payloads).response
        payloads.append(SSEParser.doneMarker)
        payloads.append(Array(#"{"type":"error","message":"late","sequence_number":99}"#.utf8))
        let assembler = Self.assemble(payloads)
        #expect(assembler.isComplete)
        #expect(assembler.response == expected)
    }

    /// Some OpenAI-compatible servers end with a `response.completed` whose
    /// response has no output; the finished items are in `output_item.done`.
    @Test(arguments: [#""output":[],"#, ""])
    func aSlimTerminalEventGetsItsOutputFromTheFinishedItems(_ output: String) throws {
        let assembler = Self.assemble([
            #"{"type":"response.created","sequence_number":0,"response":{"id":"resp_slim","object":"response","created_at":1,"status":"in_progress","model":"m","output":[]}}"#,
            #"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"fc_1","type":"function_call","status":"in_progress","call_id":"call_1","name":"ls","arguments":""}}"#,
            #"{"type":"response.output_item.added","sequence_number":2,"output_index":1,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}}"#,
            // Finished out of order: the output follows output_index.
            #"{"type":"response.output_item.done","sequence_number":3,"output_index":1,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Listing.","annotations":[]}]}}"#,
            #"{"type":"response.output_item.done","sequence_number":4,"output_index":0,"item":{"id":"fc_1","type":"function_call","status":"completed","call_id":"call_1","name":"ls","arguments":"{}"}}"#,
            #"{"type":"response.completed","sequence_number":5,"response":{"id":"resp_slim","object":"response","created_at":1,"status":"completed","model":"m",\#(output)"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7}}}"#,
        ])
        #expect(assembler.isComplete)
        let response = assembler.response
        #expect(response["id"] == .string("resp_slim"))
        #expect(response["output"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["fc_1", "msg_1"])
        #expect(response["usage"]?["total_tokens"] == .number(JSONNumber(7)))
    }

    @Test func theTerminalEventsOutputIsTrustedOverTheFinishedItems() throws {
        let assembler = Self.assemble([
            #"{"type":"response.output_item.done","sequence_number":0,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}}"#,
            #"{"type":"response.completed","sequence_number":1,"response":{"id":"r","object":"response","created_at":1,"model":"m","output":[{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"final","annotations":[]}]}]}}"#,
        ])
        #expect(assembler.response["output"]?.arrayValue?[0]["content"]?.arrayValue?.count == 1)
    }

    // MARK: The relay's error event

    @Test func theTimeOutEventIsAResponsesErrorEventTheSDKsRaise() throws {
        let bytes = ResponsesStreamAssembler.errorEvent(message: "cut by the proxy", sequenceNumber: 30)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("event: error\ndata: "))
        #expect(text.hasSuffix("\n\n"))
        var parser = SSEParser()
        let events = parser.feed(bytes)
        try #require(events.count == 1)
        let event = try JSONValue(parsing: events[0])
        #expect(event["type"] == .string("error"))
        #expect(event["code"] == .string("timeout"))
        #expect(event["message"] == .string("cut by the proxy"))
        #expect(event["param"] == .null)
        #expect(event["sequence_number"] == .number(JSONNumber(30)))
        // What the openai SDKs look for before raising an APIError.
        #expect(event["error"]?["message"] == .string("cut by the proxy"))
        #expect(event["error"]?["code"] == .string("timeout"))

        var assembler = Self.assemble(CapturedResponses.opening)
        assembler.consume(event: events[0])
        #expect(assembler.sawEnd)
        #expect(!assembler.isComplete)
    }

    @Test func theStaticTimeOutEventHasTheSameShape() throws {
        var parser = SSEParser()
        let events = parser.feed(ResponsesStreamAssembler.errorEvent(message: "slow"))
        let event = try JSONValue(parsing: try #require(events.first))
        #expect(event["type"] == .string("error"))
        #expect(event["error"]?["message"] == .string("slow"))
        #expect(event["sequence_number"]?.numberValue?.intValue != nil)
    }

    // MARK: Replaying

    /// A stored response to replay.
    struct Stored: Sendable, CustomTestStringConvertible {
        let name: String
        let body: String
        var testDescription: String { name }
        func json() throws -> JSONValue { try JSONValue(parsing: body) }
    }

    /// A response object around `output`, with the members OpenAI returns.
    static func response(id: String, status: String = "completed", _ output: String, tools: String = "[]", extra: String = "") -> String {
        #"{"id":"\#(id)","object":"response","created_at":1756752811,"status":"\#(status)","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-mini-2025-04-14","output":\#(output),"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":\#(tools),"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":0},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":50},"user":null,"metadata":{}\#(extra)}"#
    }

    static let stored: [Stored] = [
        Stored(name: "captured reasoning and message", body: try! CapturedResponses.payload(of: "response.completed", in: CapturedResponses.reasoningStream)["response"]!.jsonBytes.string),
        Stored(name: "plain text", body: response(id: "resp_plain", #"[{"id":"msg_p1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello! How can I help you today? This sentence runs on for a while, to be cut into pieces."}],"role":"assistant"}]"#)),
        Stored(name: "two parts with annotations", body: response(id: "resp_cite", #"[{"id":"ws_c1","type":"web_search_call","status":"completed","action":{"type":"search","query":"oslo weather"}},{"id":"msg_c1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Oslo is sunny today [1].","annotations":[{"type":"url_citation","start_index":0,"end_index":24,"title":"Oslo weather","url":"https://weather.example/oslo"}],"logprobs":[]},{"type":"output_text","text":"See the file for details.","annotations":[{"type":"file_citation","file_id":"file-abc","filename":"notes.pdf","index":8},{"type":"file_citation","file_id":"file-def","filename":"more.pdf","index":20}]}]}]"#, tools: #"[{"type":"web_search","search_context_size":"medium"}]"#)),
        Stored(name: "logprobs that spell the text", body: response(id: "resp_lp", #"[{"id":"msg_lp","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Hi! there","logprobs":[{"token":"Hi","logprob":-0.0012,"bytes":[72,105],"top_logprobs":[{"token":"Hello","logprob":-7.1,"bytes":[72,101,108,108,111]}]},{"token":"!","logprob":-0.31,"bytes":[33],"top_logprobs":[]},{"token":" there","logprob":-1.05,"bytes":[32,116,104,101,114,101],"top_logprobs":[]}]}]}]"#, extra: #","top_logprobs":1"#)),
        Stored(name: "logprobs that do not spell the text", body: response(id: "resp_lp2", #"[{"id":"msg_lp2","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Café time, with a long sentence after it.","logprobs":[{"token":"Caf","logprob":-0.2,"bytes":[67,97,102],"top_logprobs":[]},{"token":"\\xc3","logprob":-0.1,"bytes":[195],"top_logprobs":[]}]}]}]"#)),
        Stored(name: "refusal", body: response(id: "resp_ref", #"[{"id":"msg_ref","type":"message","status":"completed","role":"assistant","content":[{"type":"refusal","refusal":"I'm sorry, I can't assist with that request."}]}]"#)),
        Stored(name: "function calls with multi-line arguments", body: response(id: "resp_fc", #"[{"id":"fc_1","type":"function_call","status":"completed","arguments":"{\n  \"location\": \"Paris, France\",\n  \"unit\": \"celsius\"\n}","call_id":"call_8fMGCNaZbV7WLkl9VYoDFzaa","name":"get_weather"},{"id":"fc_2","type":"function_call","status":"completed","arguments":"{\"location\":\"Tokyo\"}","call_id":"call_Xq1tJ3Lw2mKzS9dPfB6hYc4e","name":"get_weather"}]"#, tools: #"[{"type":"function","name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string"}},"required":["location"]},"strict":false}]"#)),
        Stored(name: "reasoning with summaries and encrypted content", body: response(id: "resp_rs", #"[{"id":"rs_1","type":"reasoning","encrypted_content":"gAAAAABoxYz1-opaque_cipher_text==","summary":[{"type":"summary_text","text":"**Planning the answer**\n\nThe user wants a haiku; I will count syllables."},{"type":"summary_text","text":"**Checking** the count."}]},{"id":"msg_rs","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Autumn moonlight—\na worm digs silently\ninto the chestnut."}]}]"#, extra: #","include":["reasoning.encrypted_content"]"#)),
        Stored(name: "reasoning text content and an empty summary", body: response(id: "resp_rt", #"[{"id":"rs_2","type":"reasoning","status":"completed","summary":[],"content":[{"type":"reasoning_text","text":"First, add 1 and 2 to get 3; then add 3."}]},{"id":"msg_rt","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"6"}]}]"#)),
        Stored(name: "items of unknown and tool types", body: response(id: "resp_misc", #"[{"id":"mcpl_1","type":"mcp_list_tools","server_label":"deepwiki","tools":[{"name":"ask_question","input_schema":{"type":"object"}}]},{"id":"ctc_1","type":"custom_tool_call","status":"completed","call_id":"call_c1","name":"shell","input":"ls -la"},{"id":"fs_1","type":"file_search_call","status":"completed","queries":["refund policy"],"results":null},{"id":"zz_1","type":"shiny_new_call","payload":{"n":1}},{"id":"msg_misc","type":"message","status":"completed","role":"assistant","phase":"final_answer","content":[{"type":"output_text","annotations":[],"text":"Done."},{"type":"future_part","data":"x"}]}]"#)),
        Stored(name: "incomplete", body: response(id: "resp_inc", status: "incomplete", #"[{"id":"msg_inc","type":"message","status":"incomplete","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Once upon a time, in a land far"}]}]"#).replacingOccurrences(of: #""incomplete_details":null"#, with: #""incomplete_details":{"reason":"max_output_tokens"}"#)),
        Stored(name: "incomplete with no output", body: response(id: "resp_inc0", status: "incomplete", "[]")),
        Stored(name: "non-ASCII text", body: response(id: "resp_utf", #"[{"id":"msg_utf","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":"Grüße aus Zürich — 東京は今日、晴れです 🌤️👩‍👩‍👧. Ça va? Ελληνικά και русский текст."}]}]"#)),
        Stored(name: "empty text", body: response(id: "resp_empty", #"[{"id":"msg_e","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","annotations":[],"text":""}]}]"#)),
    ]

    @Test(arguments: stored)
    func assemblingAReplayGivesBackTheStoredResponse(_ stored: Stored) throws {
        let response = try stored.json()
        let events = try #require(ResponsesStreamReplay().events(of: response))
        let assembler = Self.assemble(events.map(\.jsonBytes))
        #expect(assembler.isComplete == (response["status"]?.stringValue != "failed"))
        #expect(assembler.response == response)
        // The same through the wire bytes.
        let bytes = try #require(ResponsesStreamReplay(pieceLength: 5).eventStream(of: response))
        var parser = SSEParser()
        let wire = Self.assemble(parser.feed(bytes))
        #expect(wire.isComplete)
        #expect(wire.response == response)
        #expect(!parser.hasPartialEvent)
    }

    @Test(arguments: stored)
    func replayedEventsAreNumberedAndIndexedAsTheAPISendsThem(_ stored: Stored) throws {
        let response = try stored.json()
        let output = try #require(response["output"]?.arrayValue)
        let events = try #require(ResponsesStreamReplay(pieceLength: 8).events(of: response))
        #expect(events.map { $0["sequence_number"] } == events.indices.map { .number(JSONNumber($0)) })
        let types = events.map { $0["type"]?.stringValue ?? "" }
        #expect(types.prefix(2) == ["response.created", "response.in_progress"])
        #expect(types.last == (response["status"]?.stringValue == "incomplete" ? "response.incomplete" : "response.completed"))
        #expect(events.last?["response"] == response)
        for opening in events.prefix(2) {
            #expect(opening["response"]?["status"] == .string("in_progress"))
            #expect(opening["response"]?["output"] == .array([]))
            #expect(opening["response"]?["usage"] == .null)
            #expect(opening["response"]?["id"] == response["id"])
        }

        var opened: [Int] = []
        var closed: Set<Int> = []
        var openParts: [Int: [String: Set<Int>]] = [:]
        var partCounts: [Int: [String: Int]] = [:]
        var text: [String: String] = [:]
        for (event, type) in zip(events, types).dropFirst(2).dropLast() {
            let index = try #require(event["output_index"]?.numberValue?.intValue, "\(type) has no output_index")
            if type == "response.output_item.added" {
                #expect(index == opened.count, "items open in order")
                opened.append(index)
                continue
            }
            #expect(opened.contains(index) && !closed.contains(index), "\(type) outside its item")
            if type == "response.output_item.done" {
                #expect(event["item"] == output[index])
                let allClosed = openParts[index, default: [:]].values.allSatisfy { $0.isEmpty }
                #expect(allClosed, "parts left open")
                closed.insert(index)
                continue
            }
            #expect(event["item_id"] == output[index]["id"])
            // Argument events have no part; they are checked below.
            if type.hasPrefix("response.function_call_arguments.") { continue }
            let partKey = event["summary_index"] != nil ? "summary_index" : "content_index"
            let part = try #require(event[partKey]?.numberValue?.intValue, "\(type) has no part index")
            let key = "\(index).\(partKey).\(part)"
            if type.hasSuffix("part.added") {
                #expect(part == partCounts[index, default: [:]][partKey, default: 0], "parts open in order")
                partCounts[index, default: [:]][partKey, default: 0] += 1
                openParts[index, default: [:]][partKey, default: []].insert(part)
            } else if type.hasSuffix("part.done") {
                #expect(openParts[index]?[partKey]?.remove(part) != nil)
            } else {
                #expect(openParts[index]?[partKey]?.contains(part) == true, "\(type) outside its part")
            }
            if type.hasSuffix(".delta") {
                let delta = try #require(event["delta"]?.stringValue)
                text[key, default: ""] += delta
            }
            if type.hasSuffix("text.done") || type == "response.refusal.done" {
                let whole = event["text"]?.stringValue ?? event["refusal"]?.stringValue
                #expect(whole == text[key, default: ""], "deltas add up to the text")
            }
        }
        #expect(opened == Array(output.indices))
        #expect(closed == Set(output.indices))

        // Each function call's argument deltas add up to its arguments.
        for (index, item) in output.enumerated() where item["type"] == .string("function_call") {
            let deltas = events.filter { $0["type"] == .string("response.function_call_arguments.delta") && $0["output_index"] == .number(JSONNumber(index)) }
            #expect(deltas.compactMap { $0["delta"]?.stringValue }.joined() == item["arguments"]?.stringValue)
            let done = events.first { $0["type"] == .string("response.function_call_arguments.done") && $0["output_index"] == .number(JSONNumber(index)) }
            #expect(done?["arguments"] == item["arguments"])
            #expect(done?["name"] == item["name"])
        }
    }

    @Test(arguments: stored)
    func itemsOpenEmptyAndInProgress(_ stored: Stored) throws {
        let response = try stored.json()
        let events = try #require(ResponsesStreamReplay().events(of: response))
        for event in events where event["type"] == .string("response.output_item.added") {
            let item = try #require(event["item"])
            switch item["type"]?.stringValue {
            case "message":
                #expect(item["content"] == .array([]))
                #expect(item["status"] == .string("in_progress"))
            case "function_call":
                #expect(item["arguments"] == .string(""))
                #expect(item["status"] == .string("in_progress"))
            case "reasoning":
                #expect(item["summary"] == .array([]))
                #expect(item["content"] == nil || item["content"] == .array([]))
            default:
                #expect(item["status"] == nil || item["status"] == .string("in_progress"))
            }
        }
        for event in events where event["type"] == .string("response.content_part.added") || event["type"] == .string("response.reasoning_summary_part.added") {
            let part = try #require(event["part"])
            if ["output_text", "summary_text", "reasoning_text"].contains(part["type"]?.stringValue) { #expect(part["text"] == .string("")) }
            if part["type"] == .string("refusal") { #expect(part["refusal"] == .string("")) }
        }
    }

    @Test func textComesInWordSizedPiecesAndAnnotationsAfterIt() throws {
        let response = try json(Self.response(id: "r", #"[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"The quick brown fox jumps over the lazy dog near the river bank.","annotations":[{"type":"url_citation","start_index":4,"end_index":9,"title":"Fox","url":"https://fox.example"}]}]}]"#))
        let events = try #require(ResponsesStreamReplay(pieceLength: 12).events(of: response))
        let types = events.compactMap { $0["type"]?.stringValue }
        let deltas = events.filter { $0["type"] == .string("response.output_text.delta") }.compactMap { $0["delta"]?.stringValue }
        #expect(deltas.count > 3)
        #expect(deltas.allSatisfy { $0.count <= 12 })
        #expect(deltas.dropLast().allSatisfy { $0.hasSuffix(" ") }, "words kept whole: \(deltas)")
        let annotation = try #require(events.first { $0["type"] == .string("response.output_text.annotation.added") })
        #expect(annotation["annotation_index"] == .number(JSONNumber(0)))
        #expect(annotation["content_index"] == .number(JSONNumber(0)))
        #expect(annotation["annotation"]?["url"] == .string("https://fox.example"))
        let annotationAt = try #require(types.firstIndex(of: "response.output_text.annotation.added"))
        #expect(annotationAt > types.lastIndex(of: "response.output_text.delta")!)
        #expect(annotationAt < types.firstIndex(of: "response.output_text.done")!)
    }

    @Test func logprobsThatSpellTheTextStreamOneTokenPerDelta() throws {
        let response = try Self.stored.first { $0.name == "logprobs that spell the text" }!.json()
        let events = try #require(ResponsesStreamReplay().events(of: response))
        let deltas = events.filter { $0["type"] == .string("response.output_text.delta") }
        #expect(deltas.compactMap { $0["delta"]?.stringValue } == ["Hi", "!", " there"])
        #expect(deltas.map { $0["logprobs"]?.arrayValue?.count } == [1, 1, 1])
        #expect(deltas.first?["logprobs"]?.arrayValue?[0]["top_logprobs"]?.arrayValue?.count == 1)
        let done = try #require(events.first { $0["type"] == .string("response.output_text.done") })
        #expect(done["logprobs"]?.arrayValue?.count == 3)
    }

    @Test func theWireFramesEveryEventWithItsType() throws {
        let response = try Self.stored[1].json()
        let bytes = try #require(ResponsesStreamReplay().eventStream(of: response))
        let text = String(decoding: bytes, as: UTF8.self)
        let frames = text.components(separatedBy: "\n\n").dropLast()
        let events = try #require(ResponsesStreamReplay().events(of: response))
        #expect(frames.count == events.count)
        for (frame, event) in zip(frames, events) {
            let type = try #require(event["type"]?.stringValue)
            #expect(frame.hasPrefix("event: \(type)\ndata: {"))
        }
        #expect(text.hasSuffix("\n\n"))
    }

    @Test(arguments: [
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[]}"#,
        #"{"id":"resp_1","object":"response","created_at":1,"model":"m"}"#,
        #"{"id":"resp_1","created_at":1,"model":"m","output":[]}"#,
        #"[1,2,3]"#,
        #""response""#,
    ])
    func onlyAResponsesResponseIsReplayed(_ body: String) throws {
        let value = try json(body)
        #expect(ResponsesStreamReplay().events(of: value) == nil)
        #expect(ResponsesStreamReplay().eventStream(of: value) == nil)
    }
}

extension [UInt8] {
    /// The bytes as UTF-8 text.
    fileprivate var string: String { String(decoding: self, as: UTF8.self) }
}
