import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheFakeUpstream
import NIOCore
import Testing

/// More concurrent misses than upstream connections: callers of a healthy
/// upstream wait their turn instead of failing, and a proxy out of slots
/// says so with 503 and `Retry-After`.
@Suite("Proxy: queueing for the upstream", .serialized)
struct ProxyUpstreamQueueTests {
    static let answer = #"{"id":"chatcmpl-held","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Held."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#

    /// A client that opens as many connections as the test sends requests,
    /// so only the proxy queues them.
    private func wideClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 200)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    private func post(_ client: HTTPClient, _ h: Harness, _ body: String) async throws -> Harness.Answer {
        var request = HTTPClientRequest(url: h.base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk-test-one")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Harness.Answer(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    private func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// 100 generations of 0.4 s each through 10 upstream slots, with a
    /// connect time-out shorter than a generation: each waits its turn.
    @Test func aHundredConcurrentSlowGenerationsThroughTenSlotsAllSucceed() async throws {
        try await Harness.run(configure: {
            $0.upstream.maximumConnections = 10
            $0.upstream.connectTimeout = .milliseconds(200)
        }, upstreamDelay: .milliseconds(400)) { h in
            let client = wideClient()
            let answers = try await withThrowingTaskGroup(of: (Int, Harness.Answer).self) { group in
                for index in 0..<100 {
                    group.addTask { (index, try await post(client, h, Harness.chat("slow question \(index)"))) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            try await client.shutdown()
            #expect(answers.count == 100)
            let failed = answers.values.filter { $0.status != 200 }
            #expect(failed.isEmpty, "\(failed.count) of 100 failed, first: \(failed.first.map { "\($0.status) \($0.text)" } ?? "")")
            for (index, answer) in answers {
                #expect(answer.cache == "MISS")
                let content = answer.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue
                #expect(content?.contains("slow question \(index)") == true, "request \(index) got another request's answer: \(content ?? "none")")
            }
            #expect(h.upstream.snapshot.chat == 100)
        }
    }

    @Test func aFullQueueIsAnswered503WithRetryAfterAndNothingIsCached() async throws {
        try await Harness.run(configure: {
            $0.upstream.maximumConnections = 2
            $0.upstream.queueLength = 0
        }) { h in
            h.upstream.recordsRequests = true
            for _ in 0..<2 {
                h.upstream.enqueue(.init(body: Array(Self.answer.utf8), holdUntilReleased: "busy"), for: "/v1/chat/completions")
            }
            let client = wideClient()
            let held = (0..<2).map { index in Task { try await post(client, h, Harness.chat("held \(index)")) } }
            #expect(try await eventually { h.upstream.recordedRequests.count == 2 }, "the held calls did not reach the upstream")

            let refused = try await post(client, h, Harness.chat("one too many"))
            #expect(refused.status == 503)
            #expect(refused.headers.first(name: "Retry-After") == "1")
            #expect(refused.json?["error"]?["type"]?.stringValue == "upstream_busy")
            #expect(refused.json?["error"]?["message"]?.stringValue?.contains("--upstream-queue") == true)
            #expect(h.upstream.recordedRequests.count == 2, "a refused call reached the upstream")

            h.upstream.release("busy")
            for task in held { #expect(try await task.value.status == 200) }
            // Slots came free: the refused request now goes through, once, and was never stored.
            let retried = try await post(client, h, Harness.chat("one too many"))
            #expect(retried.status == 200)
            #expect(retried.cache == "MISS")
            #expect(try await post(client, h, Harness.chat("one too many")).cache == "HIT")
            try await client.shutdown()
        }
    }

    @Test func aCallThatWaitsItsLongestIsAnswered503WithRetryAfter() async throws {
        try await Harness.run(configure: {
            $0.upstream.maximumConnections = 1
            $0.upstream.queueTimeout = .milliseconds(300)
        }) { h in
            h.upstream.recordsRequests = true
            h.upstream.enqueue(.init(body: Array(Self.answer.utf8), holdUntilReleased: "slow"), for: "/v1/chat/completions")
            let client = wideClient()
            let held = Task { try await post(client, h, Harness.chat("held")) }
            #expect(try await eventually { h.upstream.recordedRequests.count == 1 })

            let waited = try await post(client, h, Harness.chat("waits too long"))
            #expect(waited.status == 503)
            #expect(waited.headers.first(name: "Retry-After") == "5")
            #expect(waited.json?["error"]?["message"]?.stringValue?.contains("--upstream-queue-timeout") == true)
            // A streamed miss waits in the same queue.
            let streamed = try await post(client, h, Harness.chat("streams too late", stream: true))
            #expect(streamed.status == 503)

            h.upstream.release("slow")
            #expect(try await held.value.status == 200)
            #expect(try await post(client, h, Harness.chat("streams in time", stream: true)).status == 200)
            try await client.shutdown()
        }
    }
}
