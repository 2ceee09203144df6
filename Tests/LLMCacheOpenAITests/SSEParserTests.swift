import LLMCache
import Testing

@Suite struct SSEParserTests {
    /// A captured stream as OpenAI sends it, with a non-ASCII delta so that
    /// splits can fall inside a multi-byte character, and a chunk spread over
    /// several `data:` lines, as a server that pretty-prints its JSON sends it.
    static let payloads = Captured.textStream.prefix(3) + [
        #"{"id":"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH","object":"chat.completion.chunk","created":1744460000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":" ¡Hola, café! 👋"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        "{\n  \"id\": \"chatcmpl-BLUaw0l9Ye1ZlY0cTbpXv7q6Rw2gH\",\n  \"object\": \"chat.completion.chunk\",\n  \"choices\": [{\"index\": 0, \"delta\": {\"content\": \" there\"}}]\n}",
    ] + Captured.textStream.suffix(2)

    /// The payloads on the wire: each line of a payload its own `data:` line.
    static func wire(_ payloads: some Sequence<String>, newline: String = "\n") -> [UInt8] {
        var text = ""
        for payload in payloads {
            for line in payload.split(separator: "\n", omittingEmptySubsequences: false) { text += "data: \(line)\(newline)" }
            text += newline
        }
        text += "data: [DONE]\(newline)\(newline)"
        return Array(text.utf8)
    }

    static var expected: [[UInt8]] { payloads.map { Array($0.utf8) } + [SSEParser.doneMarker] }

    @Test func aWholeStreamGivesEveryEventAndDoneInOrder() {
        var parser = SSEParser()
        let events = parser.feed(Self.wire(Self.payloads))
        #expect(events == Self.expected)
        #expect(events.last == SSEParser.doneMarker)
        #expect(!parser.hasPartialEvent)
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func aStreamSplitAtAnyByteGivesTheSameEvents(newline: String) {
        let wire = Self.wire(Self.payloads, newline: newline)
        for offset in 0...wire.count {
            var parser = SSEParser()
            let events = parser.feed(wire[..<offset]) + parser.feed(wire[offset...])
            #expect(events == Self.expected, "split at byte \(offset) of \(wire.count)")
            #expect(!parser.hasPartialEvent)
        }
    }

    @Test(arguments: ["\n", "\r\n"])
    func aStreamFedOneByteAtATimeGivesTheSameEvents(newline: String) {
        var parser = SSEParser()
        var events: [[UInt8]] = []
        for byte in Self.wire(Self.payloads, newline: newline) { events += parser.feed([byte]) }
        #expect(events == Self.expected)
    }

    @Test func anEventIsReturnedOnlyOnceItsBlankLineArrives() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: {\"a\":1}\n".utf8)).isEmpty)
        #expect(parser.hasPartialEvent)
        #expect(parser.feed(Array("\n".utf8)) == [Array(#"{"a":1}"#.utf8)])
        #expect(!parser.hasPartialEvent)
    }

    @Test func aStreamCutInsideAnEventLeavesAPartialEventAndReturnsNothingOfIt() {
        let wire = Self.wire(Self.payloads)
        var parser = SSEParser()
        // Cut inside the usage chunk, the last before [DONE].
        let cut = wire.count - 40
        let events = parser.feed(wire[..<cut])
        #expect(events.count == Self.payloads.count - 1)
        #expect(parser.hasPartialEvent)
    }

    @Test func commentsAndKeepAlivesAreSkipped() {
        var parser = SSEParser()
        let wire = ": OPENROUTER PROCESSING\n\n:keep-alive\n\ndata: {\"a\":1}\n: between lines of one event\n\n"
        #expect(parser.feed(Array(wire.utf8)) == [Array(#"{"a":1}"#.utf8)])
    }

    @Test func severalDataLinesAreJoinedWithNewlines() {
        var parser = SSEParser()
        let events = parser.feed(Array("data: {\"a\":\ndata:  1}\ndata\n\n".utf8))
        // The leading space after the colon is dropped, a second one kept; a bare `data` adds an empty line.
        #expect(events == [Array("{\"a\":\n 1}\n".utf8)])
    }

    @Test func otherFieldsAreIgnoredAndOnlyDataCounts() {
        var parser = SSEParser()
        let wire = "event: message\nid: 42\nretry: 1000\ndata:{\"b\":2}\n\nevent: ping\n\n"
        // A `data:` without a space keeps all of its value; an event without data is no event.
        #expect(parser.feed(Array(wire.utf8)) == [Array(#"{"b":2}"#.utf8)])
    }

    @Test func aFieldNamedLikeDataIsNotData() {
        var parser = SSEParser()
        #expect(parser.feed(Array("database: x\ndata2: y\n\n".utf8)).isEmpty)
    }

    @Test func anEncodedEventParsesBackToItsPayload() {
        var parser = SSEParser()
        let payload = Array(Captured.toolCallStream[1].utf8)
        let wire = SSEParser.event(payload)
        #expect(wire == Array("data: ".utf8) + payload + Array("\n\n".utf8))
        #expect(parser.feed(wire) == [payload])
    }
}
