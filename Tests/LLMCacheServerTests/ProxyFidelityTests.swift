import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheFakeUpstream
import LLMCacheOpenAI
import NIOCore
import Testing

/// What a client gets through the proxy is what the upstream would have
/// given, and nothing that is not a valid answer is stored.
@Suite("Proxy: a faithful relay", .serialized)
struct ProxyFidelityTests {
    static func chunks(_ body: [UInt8]) -> [JSONValue] {
        Harness.events(body).filter { $0 != SSEParser.doneMarker }.compactMap { try? JSONValue(parsing: $0) }
    }

    static func usageChunks(_ body: [UInt8]) -> [JSONValue] {
        chunks(body).filter { $0["choices"]?.arrayValue?.isEmpty == true && $0["usage"] != nil && $0["usage"] != .null }
    }

    // MARK: - Usage

    @Test("a streamed miss without include_usage stores usage: later plain hits carry it, streamed hits with include_usage get the chunk, the first caller sees none")
    func streamedMissStoresUsage() async throws {
        try await Harness.run { h in
            h.upstream.recordsRequests = true
            let streamed = Harness.chat("How long is a piece of string?", stream: true)
            let miss = try await h.send("/v1/chat/completions", body: streamed)
            #expect(miss.cache == "MISS")
            #expect(Harness.events(miss.body).last == SSEParser.doneMarker)
            // The caller did not ask for usage, so it sees no usage chunk...
            #expect(Self.usageChunks(miss.body).isEmpty)
            // ...but the upstream was asked for it.
            let sent = try JSONValue(parsing: h.upstream.recordedRequests.last!.body)
            #expect(sent["stream_options"]?["include_usage"] == .bool(true))

            let plain = try await h.send("/v1/chat/completions", body: Harness.chat("How long is a piece of string?"))
            #expect(plain.cache == "HIT")
            let usage = plain.json?["usage"]
            #expect(usage?["prompt_tokens"]?.numberValue?.intValue ?? 0 > 0)
            #expect(usage?["completion_tokens"]?.numberValue?.intValue ?? 0 > 0)

            let withUsage = try await h.send("/v1/chat/completions", body: Harness.chat("How long is a piece of string?", stream: true, extra: #","stream_options":{"include_usage":true}"#))
            #expect(withUsage.cache == "HIT")
            #expect(Self.usageChunks(withUsage.body).count == 1)
            #expect(Self.usageChunks(withUsage.body).first?["usage"] == usage)

            // Hits of an entry with usage count their savings.
            let stats = try await h.admin(.GET, "/admin/stats")
            #expect(stats.json?["completion_tokens_saved"]?.numberValue?.intValue ?? 0 > 0)
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    @Test("a caller who asked for usage gets the upstream's usage chunk on a streamed miss")
    func askedForUsage() async throws {
        try await Harness.run { h in
            let miss = try await h.send("/v1/chat/completions", body: Harness.chat("Count to three", stream: true, extra: #","stream_options":{"include_usage":true}"#))
            #expect(miss.cache == "MISS")
            #expect(Self.usageChunks(miss.body).count == 1)
        }
    }

    // MARK: - Fields streams carry

    @Test("logprobs and reasoning_content survive a streamed miss into plain and streamed hits")
    func logprobsAndReasoning() async throws {
        try await Harness.run { h in
            let body = Harness.chat("Think first", stream: true, extra: #","logprobs":true,"top_logprobs":2"#)
            let miss = try await h.send("/v1/chat/completions", body: body, headers: [("X-Fake-Reasoning", "1")])
            #expect(miss.cache == "MISS")
            let missChunks = Self.chunks(miss.body)
            let relayedLogprobs = missChunks.compactMap { $0["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue }.flatMap { $0 }
            #expect(!relayedLogprobs.isEmpty)

            let plain = try await h.send("/v1/chat/completions", body: Harness.chat("Think first", extra: #","logprobs":true,"top_logprobs":2"#))
            #expect(plain.cache == "HIT")
            let choice = plain.json?["choices"]?.arrayValue?.first
            let storedLogprobs = choice?["logprobs"]?["content"]?.arrayValue ?? []
            #expect(storedLogprobs == relayedLogprobs)
            #expect(storedLogprobs.first?["top_logprobs"]?.arrayValue?.count == 2)
            let reasoning = choice?["message"]?["reasoning_content"]?.stringValue ?? ""
            #expect(reasoning.hasPrefix("The user wrote"))
            let content = choice?["message"]?["content"]?.stringValue ?? ""
            #expect(storedLogprobs.compactMap { $0["token"]?.stringValue }.joined() == content)

            let streamedHit = try await h.send("/v1/chat/completions", body: body)
            #expect(streamedHit.cache == "HIT")
            let hitChunks = Self.chunks(streamedHit.body)
            let replayedLogprobs = hitChunks.compactMap { $0["choices"]?.arrayValue?.first?["logprobs"]?["content"]?.arrayValue }.flatMap { $0 }
            #expect(replayedLogprobs == relayedLogprobs)
            let replayedReasoning = hitChunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["reasoning_content"]?.stringValue }.joined()
            #expect(replayedReasoning == reasoning)
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    // MARK: - Headers

    @Test("a 429's Retry-After and rate-limit headers reach the client, plain and streamed, and nothing is cached")
    func retryAfter() async throws {
        try await Harness.run { h in
            for stream in [false, true] {
                let limited = try await h.send("/v1/chat/completions", body: Harness.chat("Busy?", stream: stream), headers: [("X-Fake-Status", "429"), ("X-Fake-Retry-After", "7")])
                #expect(limited.status == 429)
                #expect(limited.headers.first(name: "Retry-After") == "7")
                #expect(limited.headers.first(name: "x-ratelimit-remaining-requests") == "0")
                #expect(limited.headers.first(name: "x-request-id")?.hasPrefix("req_fake_") == true)
                #expect(limited.json?["error"]?["type"]?.stringValue == "rate_limit_error")
            }
            let after = try await h.send("/v1/chat/completions", body: Harness.chat("Busy?"))
            #expect(after.cache == "MISS")
        }
    }

    @Test("a miss relays the upstream's x-request-id; a hit does not invent one")
    func requestID() async throws {
        try await Harness.run { h in
            let miss = try await h.send("/v1/chat/completions", body: Harness.chat("Who am I?"))
            #expect(miss.cache == "MISS")
            #expect(miss.headers.first(name: "x-request-id")?.hasPrefix("req_fake_") == true)
            let streamedMiss = try await h.send("/v1/chat/completions", body: Harness.chat("Who are you?", stream: true))
            #expect(streamedMiss.headers.first(name: "x-request-id")?.hasPrefix("req_fake_") == true)
            let hit = try await h.send("/v1/chat/completions", body: Harness.chat("Who am I?"))
            #expect(hit.cache == "HIT")
            #expect(hit.headers.first(name: "x-request-id") == nil)
        }
    }

    // MARK: - What is stored

    struct InvalidAnswer: CustomTestStringConvertible, Sendable {
        var name: String
        var canned: FakeUpstream.CannedResponse
        var testDescription: String { name }
    }

    static let invalidAnswers = [
        InvalidAnswer(name: "an HTML page with 200", canned: .html()),
        InvalidAnswer(name: "an error object with 200", canned: .json(#"{"error":{"message":"overloaded","type":"server_error"}}"#)),
        InvalidAnswer(name: "JSON without choices", canned: .json(#"{"status":"queued"}"#)),
        InvalidAnswer(name: "a body that is not JSON", canned: CannedResponse(contentType: "application/json", body: Array("not json at all".utf8))),
    ]
    typealias CannedResponse = FakeUpstream.CannedResponse

    @Test("a 2xx that is not a valid answer is relayed as it came and not cached: the next call goes upstream", arguments: invalidAnswers)
    func invalidAnswerNotCached(invalid: InvalidAnswer) async throws {
        try await Harness.run { h in
            h.upstream.enqueue(invalid.canned, for: "/v1/chat/completions")
            let first = try await h.send("/v1/chat/completions", body: Harness.chat("Portal?"))
            #expect(first.status == 200)
            #expect(first.body == invalid.canned.body)
            #expect(first.headers.first(name: "Content-Type") == invalid.canned.contentType)
            let second = try await h.send("/v1/chat/completions", body: Harness.chat("Portal?"))
            #expect(second.cache == "MISS")
            #expect(second.json?["choices"] != nil)
            let third = try await h.send("/v1/chat/completions", body: Harness.chat("Portal?"))
            #expect(third.cache == "HIT")
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    @Test("a stream request answered with an HTML page is relayed with its content type and not cached")
    func htmlForAStream() async throws {
        try await Harness.run { h in
            h.upstream.enqueue(.html(), for: "/v1/chat/completions")
            let first = try await h.send("/v1/chat/completions", body: Harness.chat("Portal?", stream: true))
            #expect(first.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
            #expect(first.text.contains("<html>"))
            let second = try await h.send("/v1/chat/completions", body: Harness.chat("Portal?", stream: true))
            #expect(second.cache == "MISS")
            #expect(Harness.events(second.body).last == SSEParser.doneMarker)
        }
    }

    // MARK: - Routes

    @Test("an unknown route answers a JSON error that names the routes served")
    func unknownRoute() async throws {
        try await Harness.run { h in
            let answer = try await h.send("/v2/chat/completions", body: Harness.chat("hi"))
            #expect(answer.status == 404)
            #expect(answer.headers.first(name: "Content-Type") == "application/json")
            let message = answer.json?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("/v1/chat/completions"))
            #expect(message.contains("/v2/chat/completions"))
            let wrongMethod = try await h.send("/v1/chat/completions", method: .GET)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.json?["error"]?["message"]?.stringValue?.contains("POST") == true)
        }
    }

    @Test("routes not cached go to the upstream untouched: status, headers and body, with query and body")
    func passThrough() async throws {
        try await Harness.run { h in
            h.upstream.recordsRequests = true
            let model = try await h.send("/v1/models/fake-model", method: .GET)
            #expect(model.status == 200)
            #expect(model.json?["id"]?.stringValue == "fake-model")
            #expect(model.headers.first(name: "x-request-id")?.hasPrefix("req_fake_") == true)
            let missing = try await h.send("/v1/models/nope?verbose=1", method: .GET)
            #expect(missing.status == 404)
            #expect(missing.json?["error"]?["code"]?.stringValue == "model_not_found")
            #expect(h.upstream.recordedRequests.last?.path == "/v1/models/nope?verbose=1")
            let moderation = try await h.send("/v1/moderations", body: #"{"input":"hello there"}"#)
            #expect(moderation.status == 200)
            #expect(moderation.json?["results"]?.arrayValue?.first?["input_echo"]?.stringValue == "hello there")
            #expect(moderation.cache == nil)
            let list = try await h.send("/v1/models", method: .GET)
            #expect(list.json?["data"]?.arrayValue?.first?["id"]?.stringValue == "fake-model")
        }
    }

    @Test("the route is part of the key: a body valid for two routes is answered by each")
    func routeInKey() async throws {
        try await Harness.run { h in
            let body = #"{"model":"m","prompt":"shared","input":"shared"}"#
            let completion = try await h.send("/v1/completions", body: body)
            #expect(completion.cache == "MISS")
            let embedding = try await h.send("/v1/embeddings", body: body)
            #expect(embedding.cache == "MISS")
            #expect(embedding.json?["data"] != nil)
            #expect(embedding.headers.first(name: "X-Cache-Key") != completion.headers.first(name: "X-Cache-Key"))
            #expect(try await h.send("/v1/embeddings", body: body).cache == "HIT")
            #expect(try await h.send("/v1/completions", body: body).json?["choices"] != nil)
        }
    }

    // MARK: - Time-outs and unreachable upstreams

    @Test("with --upstream-timeout 1 a slower stream ends with an error event before the upstream finishes, and is not cached")
    func streamTimeout() async throws {
        try await Harness.run(configure: { $0.upstream.requestTimeout = .seconds(1) }) { h in
            let body = Harness.chat("Slowly please", stream: true)
            // About 20 events 300 ms apart: six seconds, far past the limit.
            let slow = try await h.send("/v1/chat/completions", body: body, headers: [("X-Fake-Chunk-Delay-Ms", "300")])
            #expect(slow.cache == "MISS")
            let events = Harness.events(slow.body)
            #expect(events.last != SSEParser.doneMarker)
            let error = events.last.flatMap { try? JSONValue(parsing: $0) }?["error"]
            #expect(error?["code"]?.stringValue == "timeout")
            #expect(h.upstream.snapshot.completedStreams == 0)
            let again = try await h.send("/v1/chat/completions", body: body)
            #expect(again.cache == "MISS")
        }
    }

    @Test("a stream that falls silent is cut at the idle time-out with an error event, and not cached")
    func idleTimeout() async throws {
        try await Harness.run(configure: { $0.upstream.idleTimeout = .milliseconds(500) }) { h in
            let body = Harness.chat("Stall", stream: true)
            let stalled = try await h.send("/v1/chat/completions", body: body, headers: [("X-Fake-Stall-After", "3")])
            let events = Harness.events(stalled.body)
            #expect(events.count == 4)
            #expect(events.last.flatMap { try? JSONValue(parsing: $0) }?["error"]?["code"]?.stringValue == "timeout")
            #expect(try await h.send("/v1/chat/completions", body: body).cache == "MISS")
        }
    }

    @Test("a refused upstream port answers 502 at once, not after the connect time-out")
    func refusedFailsFast() async throws {
        try await Harness.run(configure: { $0.upstream.baseURL = "http://127.0.0.1:1/v1"; $0.upstream.connectTimeout = .seconds(60) }) { h in
            let start = ContinuousClock.now
            let answer = try await h.send("/v1/chat/completions", body: Harness.chat("anyone?"))
            #expect(answer.status == 502)
            #expect(answer.json?["error"]?["type"]?.stringValue == "upstream_error")
            // Far below the 60 s connect time-out; the exact figure is a benchmark's business.
            #expect(ContinuousClock.now - start < .seconds(20))
        }
    }

    // MARK: - Per-request controls in the body

    @Test("a body-level cache object is honoured as per-request controls, kept out of the key and not sent upstream")
    func bodyCacheObject() async throws {
        try await Harness.run { h in
            h.upstream.recordsRequests = true
            let plain = Harness.chat("Cached by LiteLLM clients")
            let first = try await h.send("/v1/chat/completions", body: plain)
            #expect(first.cache == "MISS")
            let refresh = try await h.send("/v1/chat/completions", body: Harness.chat("Cached by LiteLLM clients", extra: #","cache":{"no-cache":true}"#))
            #expect(refresh.cache == "MISS")
            #expect(refresh.headers.first(name: "X-Cache-Key") == first.headers.first(name: "X-Cache-Key"))
            let sent = try JSONValue(parsing: h.upstream.recordedRequests.last!.body)
            #expect(sent["cache"] == nil)
            #expect(sent["messages"] != nil)
            #expect(try await h.send("/v1/chat/completions", body: plain).cache == "HIT")

            let noStore = Harness.chat("Do not keep", extra: #","cache":{"no-store":true}"#)
            #expect(try await h.send("/v1/chat/completions", body: noStore).cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("Do not keep")).cache == "MISS")

            let spaced = Harness.chat("Namespaced", extra: #","cache":{"namespace":"team-a","ttl":600}"#)
            let spacedFirst = try await h.send("/v1/chat/completions", body: spaced)
            #expect(spacedFirst.cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("Namespaced")).cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: spaced).cache == "HIT")

            let bad = try await h.send("/v1/chat/completions", body: Harness.chat("x", extra: #","cache":{"no_cache":true}"#))
            #expect(bad.status == 400)
            #expect(bad.json?["error"]?["param"]?.stringValue == "cache.no_cache")
        }
    }

    @Test("X-Cache-* request headers are never forwarded upstream")
    func cacheHeadersNotForwarded() async throws {
        try await Harness.run { h in
            h.upstream.recordsRequests = true
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("headers"), headers: [("X-Cache-TTL", "60"), ("X-Cache-Tags", "a"), ("X-Cache-Semantic", "off"), ("X-Cache-Anything", "1"), ("X-Custom", "kept")])
            let headers = h.upstream.recordedRequests.last!.headers
            #expect(headers.keys.filter { $0.hasPrefix("x-cache") }.isEmpty)
            #expect(headers["x-custom"] == "kept")
        }
    }
}
