import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheAnthropic
import LLMCacheOpenAI
import NIOCore
import Testing

/// The Responses API (`POST /v1/responses`) and Anthropic's Messages API
/// (`POST /v1/messages`) through the proxy, against the stand-in upstream
/// speaking both, plain and streamed.
@Suite("Proxy: the Responses API and Anthropic Messages", .serialized)
struct ProxySurfacesTests {
    static func responses(_ text: String, stream: Bool = false, extra: String = "") -> String {
        #"{"model":"gpt-5-mini","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"\#(text)"}]}]\#(stream ? #","stream":true"# : "")\#(extra)}"#
    }

    static func messages(_ text: String, stream: Bool = false, system: String = "You are terse.", extra: String = "") -> String {
        #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":"\#(system)","messages":[{"role":"user","content":"\#(text)"}]\#(stream ? #","stream":true"# : "")\#(extra)}"#
    }

    /// What an Anthropic SDK sends: its key in `x-api-key` and the API version.
    static func anthropicHeaders(key: String = "sk-ant-one", version: String = "2023-06-01", beta: String? = nil) -> [(String, String)] {
        var headers = [("x-api-key", key), ("anthropic-version", version)]
        if let beta { headers.append(("anthropic-beta", beta)) }
        return headers
    }

    func sendMessages(_ h: Harness, _ body: String, headers: [(String, String)] = ProxySurfacesTests.anthropicHeaders()) async throws -> Harness.Answer {
        try await h.send("/v1/messages", body: body, key: nil, headers: headers)
    }

    static func outputText(_ response: JSONValue?) -> String? {
        let parts = response?["output"]?.arrayValue?.compactMap { item -> String? in
            guard item["type"]?.stringValue == "message" else { return nil }
            return item["content"]?.arrayValue?.compactMap { $0["type"]?.stringValue == "output_text" ? $0["text"]?.stringValue : nil }.joined()
        }
        return parts?.joined()
    }

    static func messageText(_ message: JSONValue?) -> String? {
        message?["content"]?.arrayValue?.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
    }

    /// The event objects of an SSE body, each with its `event:` name.
    static func namedEvents(_ body: [UInt8]) -> [(name: String?, data: JSONValue)] {
        var events: [(String?, JSONValue)] = []
        for block in String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n") where !block.isEmpty {
            var name: String?
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            if let value = try? JSONValue(parsing: Array(data.utf8)) { events.append((name, value)) }
        }
        return events
    }

    // MARK: - Responses API

    @Test("a repeated Responses request is a HIT with the same body and id, and the upstream is called once")
    func responsesHit() async throws {
        try await Harness.run { h in
            let first = try await h.send("/v1/responses", body: Self.responses("What is a cache?"))
            #expect(first.status == 200)
            #expect(first.cache == "MISS")
            let id = try #require(first.json?["id"]?.stringValue)
            #expect(id.hasPrefix("resp_"))
            // Member order, metadata and store: true change nothing.
            let second = try await h.send("/v1/responses", body: #"{"store":true,"metadata":{"run":"2"},"input":[{"content":[{"text":"What is a cache?","type":"input_text"}],"role":"user"}],"instructions":"Be brief.","model":"gpt-5-mini"}"#)
            #expect(second.cache == "HIT")
            #expect(second.body == first.body)
            #expect(second.json?["id"]?.stringValue == id)
            #expect(h.upstream.snapshot.responses == 1)

            // The id of a cached response still resolves upstream: GET passes through.
            let fetched = try await h.send("/v1/responses/\(id)", method: .GET)
            #expect(fetched.status == 200)
            #expect(fetched.cache == nil)
            #expect(fetched.json?["id"]?.stringValue == id)
        }
    }

    @Test("previous_response_id and instructions are part of the key; store: false is kept apart")
    func responsesKey() async throws {
        try await Harness.run { h in
            let one = try await h.send("/v1/responses", body: Self.responses("first turn"))
            let two = try await h.send("/v1/responses", body: Self.responses("another first turn"))
            let oneID = try #require(one.json?["id"]?.stringValue)
            let twoID = try #require(two.json?["id"]?.stringValue)
            let followUp = { (previous: String) in Self.responses("and then?", extra: #","previous_response_id":"\#(previous)""#) }
            let a = try await h.send("/v1/responses", body: followUp(oneID))
            let b = try await h.send("/v1/responses", body: followUp(twoID))
            #expect(a.cache == "MISS" && b.cache == "MISS")
            #expect(a.json?["id"] != b.json?["id"])
            #expect(try await h.send("/v1/responses", body: followUp(oneID)).cache == "HIT")
            let other = try await h.send("/v1/responses", body: #"{"model":"gpt-5-mini","instructions":"Be long.","input":[{"role":"user","content":[{"type":"input_text","text":"first turn"}]}]}"#)
            #expect(other.cache == "MISS")
            let unstored = try await h.send("/v1/responses", body: Self.responses("first turn", extra: #","store":false"#))
            #expect(unstored.cache == "MISS")
            #expect(h.upstream.snapshot.responses == 6)
        }
    }

    @Test("a request in a conversation or run in the background is passed through as BYPASS", arguments: [
        #","conversation":"conv_123""#, #","background":true"#,
    ])
    func responsesStateful(extra: String) async throws {
        try await Harness.run { h in
            for _ in 0..<2 {
                let answer = try await h.send("/v1/responses", body: Self.responses("stateful", extra: extra))
                #expect(answer.status == 200)
                #expect(answer.cache == "BYPASS")
            }
            #expect(h.upstream.snapshot.responses == 2)
        }
    }

    @Test("a streamed Responses miss is relayed and stored; the streamed hit replays the full event sequence")
    func responsesStreaming() async throws {
        try await Harness.run { h in
            let miss = try await h.send("/v1/responses", body: Self.responses("Tell me a story", stream: true))
            #expect(miss.cache == "MISS")
            #expect(miss.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
            let relayed = Self.namedEvents(miss.body)
            #expect(relayed.last?.name == "response.completed")
            let completed = try #require(relayed.last?.data["response"])

            // Stored after response.completed: a plain request is now a hit with that response.
            let plain = try await h.send("/v1/responses", body: Self.responses("Tell me a story"))
            #expect(plain.cache == "HIT")
            #expect(plain.json == completed)

            let hit = try await h.send("/v1/responses", body: Self.responses("Tell me a story", stream: true))
            #expect(hit.cache == "HIT")
            #expect(hit.headers.first(name: "Content-Type") == "text/event-stream")
            let events = Self.namedEvents(hit.body)
            let types = events.map { $0.data["type"]?.stringValue ?? "" }
            #expect(Array(types.prefix(2)) == ["response.created", "response.in_progress"])
            #expect(types.last == "response.completed")
            for required in ["response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done"] {
                #expect(types.contains(required), "\(required) missing from \(types)")
            }
            #expect(events.allSatisfy { $0.name == $0.data["type"]?.stringValue })
            let numbers = events.compactMap { $0.data["sequence_number"]?.numberValue?.intValue }
            #expect(numbers == Array(0..<events.count))
            let deltas = events.filter { $0.data["type"]?.stringValue == "response.output_text.delta" }.compactMap { $0.data["delta"]?.stringValue }
            #expect(deltas.count > 1)
            #expect(deltas.joined() == Self.outputText(completed))
            #expect(events.last?.data["response"] == completed)
            #expect(h.upstream.snapshot.responses == 1)
        }
    }

    @Test("a Responses stream that fails, or ends before response.completed, is relayed and not cached", arguments: [
        ("X-Fake-Stream-Error", "1"), ("X-Fake-No-Done", "1"),
    ])
    func responsesFailedStream(header: String, value: String) async throws {
        try await Harness.run { h in
            let body = Self.responses("doomed", stream: true)
            let first = try await h.send("/v1/responses", body: body, headers: [(header, value)])
            #expect(first.status == 200)
            #expect(Self.namedEvents(first.body).last?.name != "response.completed")
            let second = try await h.send("/v1/responses", body: body)
            #expect(second.cache == "MISS")
            #expect(h.upstream.snapshot.responses == 2)
        }
    }

    @Test("a Responses upstream error passes through with OpenAI's body and its headers, and is not cached")
    func responsesUpstreamError() async throws {
        try await Harness.run { h in
            let body = Self.responses("failing")
            let failed = try await h.send("/v1/responses", body: body, headers: [("X-Fake-Status", "500")])
            #expect(failed.status == 500)
            #expect(failed.json?["error"]?["message"]?.stringValue != nil)
            #expect(failed.headers.first(name: "x-request-id") != nil)
            let streamed = try await h.send("/v1/responses", body: Self.responses("failing", stream: true), headers: [("X-Fake-Status", "503")])
            #expect(streamed.status == 503)
            let retried = try await h.send("/v1/responses", body: body)
            #expect(retried.status == 200 && retried.cache == "MISS")
        }
    }

    @Test("function calls and reasoning items survive the cache, plain and replayed")
    func responsesToolsAndReasoning() async throws {
        try await Harness.run { h in
            let body = Self.responses("weather in Paris", extra: #","reasoning":{"effort":"low","summary":"auto"},"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]"#)
            let first = try await h.send("/v1/responses", body: body)
            let output = try #require(first.json?["output"]?.arrayValue)
            #expect(output.contains { $0["type"]?.stringValue == "function_call" })
            let streamed = String(body.dropLast()) + #","stream":true}"#
            let hit = try await h.send("/v1/responses", body: streamed)
            #expect(hit.cache == "HIT")
            let events = Self.namedEvents(hit.body)
            let types = events.map { $0.data["type"]?.stringValue ?? "" }
            #expect(types.contains("response.function_call_arguments.delta"))
            #expect(types.contains("response.function_call_arguments.done"))
            #expect(events.last?.data["response"] == first.json)
        }
    }

    // MARK: - Anthropic Messages

    @Test("a repeated Messages request is a HIT with the same body and id; cache_control and metadata change nothing")
    func messagesHit() async throws {
        try await Harness.run { h in
            let first = try await sendMessages(h, Self.messages("What is a cache?"))
            #expect(first.status == 200)
            #expect(first.cache == "MISS")
            let id = try #require(first.json?["id"]?.stringValue)
            #expect(first.json?["type"]?.stringValue == "message")
            let marked = #"{"model":"claude-sonnet-4-5","max_tokens":256,"metadata":{"user_id":"u"},"system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"What is a cache?"}]}"#
            // A system prompt as one text block is another request than as a string.
            let asBlocks = try await sendMessages(h, marked)
            #expect(asBlocks.cache == "MISS")
            let again = try await sendMessages(h, #"{"model":"claude-sonnet-4-5","max_tokens":256,"system":[{"type":"text","text":"You are terse."}],"messages":[{"role":"user","content":"What is a cache?"}]}"#)
            #expect(again.cache == "HIT")
            #expect(again.body == asBlocks.body)
            let repeatPlain = try await sendMessages(h, Self.messages("What is a cache?"))
            #expect(repeatPlain.cache == "HIT")
            #expect(repeatPlain.json?["id"]?.stringValue == id)
            #expect(h.upstream.snapshot.messages == 2)
        }
    }

    @Test("the system prompt, the API version and betas are part of the key; tenants are isolated by x-api-key")
    func messagesKey() async throws {
        try await Harness.run { h in
            _ = try await sendMessages(h, Self.messages("hello"))
            #expect(try await sendMessages(h, Self.messages("hello", system: "You are verbose.")).cache == "MISS")
            #expect(try await sendMessages(h, Self.messages("hello"), headers: Self.anthropicHeaders(version: "2024-01-01")).cache == "MISS")
            #expect(try await sendMessages(h, Self.messages("hello"), headers: Self.anthropicHeaders(beta: "b-two,b-one")).cache == "MISS")
            #expect(try await sendMessages(h, Self.messages("hello"), headers: Self.anthropicHeaders(beta: "b-one, b-two")).cache == "HIT")
            #expect(try await sendMessages(h, Self.messages("hello"), headers: Self.anthropicHeaders(key: "sk-ant-two")).cache == "MISS")
            #expect(try await sendMessages(h, Self.messages("hello")).cache == "HIT")
            #expect(h.upstream.snapshot.messages == 5)
        }
    }

    @Test("a streamed Messages miss is relayed and stored; the streamed hit replays Anthropic's events")
    func messagesStreaming() async throws {
        try await Harness.run { h in
            let miss = try await sendMessages(h, Self.messages("Tell me a story", stream: true))
            #expect(miss.cache == "MISS")
            let relayed = Self.namedEvents(miss.body)
            #expect(relayed.last?.name == "message_stop")

            let plain = try await sendMessages(h, Self.messages("Tell me a story"))
            #expect(plain.cache == "HIT")
            var assembler = MessagesStreamAssembler()
            for event in Harness.events(miss.body) { assembler.consume(event: event) }
            #expect(assembler.isComplete)
            #expect(plain.json == assembler.response)

            let hit = try await sendMessages(h, Self.messages("Tell me a story", stream: true))
            #expect(hit.cache == "HIT")
            #expect(hit.headers.first(name: "Content-Type") == "text/event-stream")
            let events = Self.namedEvents(hit.body)
            let types = events.map { $0.data["type"]?.stringValue ?? "" }
            #expect(types.first == "message_start")
            #expect(types.last == "message_stop")
            for required in ["content_block_start", "content_block_delta", "content_block_stop", "message_delta"] {
                #expect(types.contains(required), "\(required) missing from \(types)")
            }
            #expect(events.allSatisfy { $0.name == $0.data["type"]?.stringValue })
            let stop = events.first { $0.data["type"]?.stringValue == "message_delta" }
            #expect(stop?.data["delta"]?["stop_reason"] == plain.json?["stop_reason"])
            let text = events.compactMap { $0.data["delta"]?["type"]?.stringValue == "text_delta" ? $0.data["delta"]?["text"]?.stringValue : nil }
            #expect(text.count > 1)
            #expect(text.joined() == Self.messageText(plain.json))
            #expect(h.upstream.snapshot.messages == 1)
        }
    }

    @Test("a Messages stream with an error event, or cut before message_stop, is not cached", arguments: [
        ("X-Fake-Stream-Error", "1"), ("X-Fake-No-Done", "1"),
    ])
    func messagesFailedStream(header: String, value: String) async throws {
        try await Harness.run { h in
            let body = Self.messages("doomed", stream: true)
            _ = try await sendMessages(h, body, headers: Self.anthropicHeaders() + [(header, value)])
            #expect(try await sendMessages(h, body).cache == "MISS")
            #expect(h.upstream.snapshot.messages == 2)
        }
    }

    @Test("upstream errors pass through with Anthropic's body and are never cached", arguments: [529, 500, 429])
    func messagesUpstreamErrors(status: Int) async throws {
        try await Harness.run { h in
            let body = Self.messages("overloaded?")
            let first = try await sendMessages(h, body, headers: Self.anthropicHeaders() + [("X-Fake-Status", "\(status)")])
            #expect(first.status == status)
            #expect(first.json?["type"]?.stringValue == "error")
            #expect(first.json?["error"]?["type"]?.stringValue != nil)
            let second = try await sendMessages(h, body)
            #expect(second.status == 200)
            #expect(second.cache == "MISS")
        }
    }

    @Test("the proxy's own errors on /v1/messages are in Anthropic's shape")
    func messagesProxyErrors() async throws {
        try await Harness.run { h in
            let missing = try await sendMessages(h, #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(missing.status == 400)
            #expect(missing.json?["type"]?.stringValue == "error")
            #expect(missing.json?["error"]?["type"]?.stringValue == "invalid_request_error")
            #expect(missing.json?["error"]?["message"]?.stringValue?.contains("max_tokens") == true)
            let broken = try await sendMessages(h, #"{"model":"#)
            #expect(broken.status == 400)
            #expect(broken.json?["error"]?["type"]?.stringValue == "invalid_request_error")
            #expect(h.upstream.snapshot.messages == 0)
            // OpenAI's routes keep OpenAI's shape.
            let openAI = try await h.send("/v1/responses", body: #"{"model":"m","input":5}"#)
            #expect(openAI.status == 400)
            #expect(openAI.json?["error"]?["param"]?.stringValue == "input")
        }
    }

    @Test("count_tokens and other Anthropic routes pass through to the Anthropic upstream")
    func messagesPassThrough() async throws {
        try await Harness.run { h in
            let counted = try await h.send("/v1/messages/count_tokens", body: #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"count me"}]}"#, key: nil, headers: Self.anthropicHeaders())
            #expect(counted.status == 200)
            #expect(counted.cache == nil)
            #expect(counted.json?["input_tokens"]?.numberValue?.intValue ?? 0 > 0)
            #expect(h.upstream.snapshot.countTokens == 1)
        }
    }

    @Test("hits count their saved tokens per surface, provider-cached input included")
    func savingsPerSurface() async throws {
        try await Harness.run { h in
            for _ in 0..<2 { _ = try await h.send("/v1/responses", body: Self.responses("save me")) }
            for _ in 0..<2 { _ = try await sendMessages(h, Self.messages("save me")) }
            let stats = try await h.admin(.GET, "/admin/stats")
            let byRoute = try #require(stats.json?["saved_by_route"])
            let responses = try #require(byRoute["responses"]?["prompt_tokens"]?.numberValue?.intValue)
            let messages = try #require(byRoute["messages"]?["prompt_tokens"]?.numberValue?.intValue)
            #expect(responses > 0 && messages > 0)
            #expect(byRoute["messages"]?["cost_usd"]?.numberValue?.doubleValue ?? 0 > 0)
            #expect(byRoute["chat_completions"]?["prompt_tokens"]?.numberValue?.intValue == 0)
            #expect(stats.json?["prompt_tokens_saved"]?.numberValue?.intValue == responses + messages)
        }
    }
}
