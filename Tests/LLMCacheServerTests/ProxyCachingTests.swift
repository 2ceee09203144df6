import AsyncHTTPClient
import LLMCache
import LLMCacheOpenAI
import NIOCore
import Testing

@Suite("Proxy: hits, misses, streaming and upstream errors", .serialized)
struct ProxyCachingTests {
    struct RouteCase: CustomTestStringConvertible, Sendable {
        var path: String
        var body: String
        var reordered: String
        var testDescription: String { path }
    }

    static let routes = [
        RouteCase(path: "/v1/chat/completions", body: Harness.chat("What is 2+2?", extra: #","temperature":0.7"#), reordered: #"{ "temperature": 0.70, "messages":[{"content":"What is 2+2?","role":"user"}], "model":"gpt-4o-mini" }"#),
        RouteCase(path: "/v1/completions", body: #"{"model":"gpt-3.5-turbo-instruct","prompt":"Say hi","max_tokens":5}"#, reordered: #"{"max_tokens":5,"prompt":"Say hi","model":"gpt-3.5-turbo-instruct"}"#),
        RouteCase(path: "/v1/embeddings", body: #"{"model":"text-embedding-3-small","input":["a","b"]}"#, reordered: #"{"input":["a","b"],"model":"text-embedding-3-small"}"#),
    ]

    @Test("a repeat is a HIT with the same body, and the upstream is called once", arguments: routes)
    func hitAfterMiss(route: RouteCase) async throws {
        try await Harness.run { h in
            let first = try await h.send(route.path, body: route.body)
            #expect(first.status == 200)
            #expect(first.cache == "MISS")
            let second = try await h.send(route.path, body: route.reordered)
            #expect(second.cache == "HIT")
            #expect(second.body == first.body)
            #expect(second.headers.first(name: "X-Cache-Key") == first.headers.first(name: "X-Cache-Key"))
            #expect(second.headers.first(name: "X-Cache-Key")?.count == 64)
            #expect(second.headers.first(name: "Age").flatMap(Int.init) != nil)
            #expect(h.upstream.snapshot.total == 1)
        }
    }

    @Test("a streamed miss is relayed as it arrives, then a streamed hit replays many chunks and [DONE]")
    func streaming() async throws {
        try await Harness.run { h in
            let body = Harness.chat("Tell me a story", stream: true)
            let response = try await h.client.execute(h.request("/v1/chat/completions", body: body, headers: [("X-Fake-Hold", "story")]), timeout: .seconds(30))
            #expect(response.headers.first(name: "X-Cache") == "MISS")
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
            var iterator = response.body.makeAsyncIterator()
            var parser = SSEParser()
            var events: [[UInt8]] = []
            while events.isEmpty, let buffer = try await iterator.next() { events += parser.feed(buffer.readableBytesView) }
            // The upstream is holding the rest of its stream: this event was relayed before it finished.
            #expect(events.count == 1)
            #expect(h.upstream.snapshot.completedStreams == 0)
            h.upstream.release("story")
            while let buffer = try await iterator.next() { events += parser.feed(buffer.readableBytesView) }
            #expect(events.last == SSEParser.doneMarker)
            #expect(h.upstream.snapshot.completedStreams == 1)

            let hit = try await h.send("/v1/chat/completions", body: body)
            #expect(hit.cache == "HIT")
            #expect(hit.headers.first(name: "Content-Type") == "text/event-stream")
            let replayed = Harness.events(hit.body)
            #expect(replayed.count >= 5)
            #expect(replayed.last == SSEParser.doneMarker)
            let chunks = replayed.dropLast().compactMap { try? JSONValue(parsing: $0) }
            #expect(chunks.count == replayed.count - 1)
            #expect(chunks.allSatisfy { $0["object"] == .string("chat.completion.chunk") })
            #expect(chunks.first?["choices"]?.arrayValue?.first?["delta"]?["role"] == .string("assistant"))
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == .string("stop"))
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text.hasPrefix("You said: Tell me a story."))

            let plain = try await h.send("/v1/chat/completions", body: Harness.chat("Tell me a story"))
            #expect(plain.cache == "HIT")
            #expect(plain.json?["object"] == .string("chat.completion"))
            #expect(plain.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue == text)
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    @Test("a streamed hit replays tool calls as tool_call deltas")
    func streamedToolCalls() async throws {
        try await Harness.run { h in
            let body = Harness.chat("find books", extra: #","tools":[{"type":"function","function":{"name":"search","parameters":{"type":"object"}}}]"#)
            let miss = try await h.send("/v1/chat/completions", body: body)
            #expect(miss.cache == "MISS")
            let streamed = try await h.send("/v1/chat/completions", body: String(body.dropLast()) + #","stream":true}"#)
            #expect(streamed.cache == "HIT")
            var assembler = StreamAssembler()
            let events = Harness.events(streamed.body)
            for event in events { assembler.consume(event: event) }
            #expect(assembler.isComplete)
            let toolChunks = events.filter { String(decoding: $0, as: UTF8.self).contains("tool_calls") }
            #expect(toolChunks.count >= 3)
            let original = miss.json?["choices"]?.arrayValue?.first?["message"]?["tool_calls"]
            #expect(assembler.response["choices"]?.arrayValue?.first?["message"]?["tool_calls"] == original)
        }
    }

    @Test("an upstream stream that breaks or ends without [DONE] is not cached", arguments: [("X-Fake-Fail-After", "3"), ("X-Fake-No-Done", "1")])
    func interruptedStream(header: String, value: String) async throws {
        try await Harness.run { h in
            let body = Harness.chat("an interrupted story", stream: true)
            var events: [[UInt8]] = []
            do {
                let response = try await h.client.execute(h.request("/v1/chat/completions", body: body, headers: [(header, value)]), timeout: .seconds(30))
                var parser = SSEParser()
                for try await buffer in response.body { events += parser.feed(buffer.readableBytesView) }
            } catch {
                // A broken upstream connection breaks the relayed response too.
            }
            #expect(events.last != SSEParser.doneMarker)
            let again = try await h.send("/v1/chat/completions", body: body)
            #expect(again.cache == "MISS")
            #expect(Harness.events(again.body).last == SSEParser.doneMarker)
            #expect(h.upstream.snapshot.chat == 2)
        }
    }

    @Test("upstream errors reach the caller unchanged and are never cached", arguments: [400, 401, 429, 500, 503])
    func upstreamErrors(status: Int) async throws {
        try await Harness.run { h in
            for stream in [false, true] {
                let body = Harness.chat("fails \(stream)", stream: stream)
                let first = try await h.send("/v1/chat/completions", body: body, headers: [("X-Fake-Status", "\(status)")])
                #expect(first.status == status)
                #expect(first.json?["error"]?["message"] == .string("forced failure \(status)"))
                let second = try await h.send("/v1/chat/completions", body: body)
                #expect(second.status == 200)
                #expect(second.cache == "MISS")
            }
            #expect(h.upstream.snapshot.chat == 4)
        }
    }

    @Test("an unreachable upstream is a 502 in OpenAI's error shape")
    func unreachable() async throws {
        try await Harness.run(configure: { $0.upstream.baseURL = "http://127.0.0.1:1/v1"; $0.upstream.connectTimeout = .milliseconds(500) }) { h in
            let answer = try await h.send("/v1/chat/completions", body: Harness.chat("anyone there?"))
            #expect(answer.status == 502)
            #expect(answer.json?["error"]?["type"] == .string("upstream_error"))
        }
    }

    @Test("concurrent identical misses make one upstream call")
    func singleFlight() async throws {
        try await Harness.run(upstreamDelay: .milliseconds(300)) { h in
            let body = Harness.chat("everyone asks this")
            let answers = try await withThrowingTaskGroup(of: Harness.Answer.self) { group in
                for _ in 0..<8 { group.addTask { try await h.send("/v1/chat/completions", body: body) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == 200 && $0.body == answers[0].body })
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    @Test("models are passed through; healthz answers")
    func passThrough() async throws {
        try await Harness.run { h in
            let models = try await h.send("/v1/models", method: .GET)
            #expect(models.json?["data"]?.arrayValue?.first?["id"] == .string("fake-model"))
            let health = try await h.send("/healthz", method: .GET, key: nil)
            #expect(health.status == 200)
        }
    }
}
