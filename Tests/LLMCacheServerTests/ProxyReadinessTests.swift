import Foundation
import InMemoryLogging
import LLMCache
import LLMCacheRedis
@testable import LLMCacheServer
import Logging
import Testing

/// `GET /readyz` against real dependencies: a Redis killed and restarted, an
/// upstream nobody listens on; and the readiness decision on its own.
@Suite("Proxy readiness", .serialized)
struct ProxyReadinessTests {
    /// Polls `/readyz` until it answers `status`; the last answer either way.
    /// A bounded wait for the proxy to notice, not a timed assertion.
    static func readyz(_ h: Harness, until status: Int, within limit: Duration = .seconds(15)) async throws -> Harness.Answer {
        let end = ContinuousClock.now + limit
        var answer = try await h.send("/readyz", method: .GET, key: nil)
        while answer.status != status, ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(100))
            answer = try await h.send("/readyz", method: .GET, key: nil)
        }
        return answer
    }

    @Test("/readyz is 503 naming the store while Redis is down, 200 once it is back; /healthz stays 200")
    func readinessFollowsRedis() async throws {
        let redis = try RedisProcess()
        try await redis.start()
        defer { redis.stop() }
        let quiet = Logger(label: "readiness") { _ in SwiftLogNoOpLogHandler() }
        let client = try RedisClient(configuration: redis.configuration, logger: quiet)
        let tiered = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: client, logger: quiet), logger: quiet)
        let services = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await client.run() }
                group.addTask { try? await tiered.run() }
            }
        }
        defer { services.cancel() }
        try await Harness.run(store: tiered) { h in
            let ready = try await h.send("/readyz", method: .GET, key: nil)
            #expect(ready.status == 200, "\(ready.text)")
            #expect(ready.json?["status"] == .string("ready"))
            #expect(ready.json?["checks"]?["store"]?["status"] == .string("ok"))
            #expect(ready.json?["checks"]?["upstream"]?["status"] == .string("ok"))
            #expect(ready.json?["checks"]?["semantic_index"]?["status"] == .string("off"))

            redis.stop()
            // No request needed: /readyz asks the store itself.
            let down = try await Self.readyz(h, until: 503)
            #expect(down.status == 503, "\(down.text)")
            #expect(down.json?["status"] == .string("degraded"))
            #expect(down.json?["failing"] == .array([.string("store")]))
            #expect(down.json?["checks"]?["store"]?["status"] == .string("down"))
            #expect(down.json?["checks"]?["store"]?["check"]?.stringValue?.contains("--redis") == true)
            #expect(down.json?["checks"]?["upstream"]?["status"] == .string("ok"))
            // Alive all the same, and still answering (uncached).
            #expect(try await h.send("/healthz", method: .GET, key: nil).status == 200)
            let uncached = try await h.send("/v1/chat/completions", body: Harness.chat("while Redis is down"))
            #expect(uncached.status == 200)
            let stats = try await h.admin(.GET, "/admin/stats")
            #expect(stats.json?["readiness"]?["status"] == .string("degraded"))
            #expect(stats.json?["readiness"]?["failing"] == .array([.string("store")]))

            try await redis.start()
            let back = try await Self.readyz(h, until: 200)
            #expect(back.status == 200, "\(back.text)")
            #expect(back.json?["status"] == .string("ready"))
            #expect(try await h.admin(.GET, "/admin/stats").json?["readiness"]?["status"] == .string("ready"))
            let metrics = try await h.send("/metrics", method: .GET, key: nil).text
            #expect(metrics.contains("llm_cache_store_outages_total 1"), "\(metrics.split(separator: "\n").filter { $0.contains("store_") })")
            let up = metrics.split(separator: "\n").first { $0.hasPrefix("llm_cache_store_up ") }
            #expect(up.flatMap { Double($0.split(separator: " ").last ?? "") } == 1, "\(up ?? "no llm_cache_store_up")")
        }
    }

    @Test("a Redis outage under a busy proxy is one warning and one recovery line, not a line per request")
    func oneLogLinePerOutage() async throws {
        let redis = try RedisProcess()
        try await redis.start()
        defer { redis.stop() }
        let capture = InMemoryLogHandler()
        let logger = Logger(label: "proxy") { _ in capture }
        let client = try RedisClient(configuration: redis.configuration, logger: logger)
        let tiered = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: client, logger: logger), logger: logger)
        let services = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await client.run() }
                group.addTask { try? await tiered.run() }
            }
        }
        defer { services.cancel() }
        try await Harness.run(store: tiered, logger: logger) { h in
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat("before")).cache == "MISS")
            let before = capture.entries.count
            redis.stop()
            let requests = 30
            for index in 0..<requests {
                let answer = try await h.send("/v1/chat/completions", body: Harness.chat("during \(index)"))
                #expect(answer.status == 200, "the proxy did not fail open")
            }
            try await redis.start()
            // A bounded wait for the cache to come back, not a timed assertion.
            var cached = false
            for index in 0..<100 where !cached {
                let question = Harness.chat("after \(index)")
                _ = try await h.send("/v1/chat/completions", body: question)
                cached = try await h.send("/v1/chat/completions", body: question).cache == "HIT"
                if !cached { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(cached, "caching never came back after Redis did")

            let lines = capture.entries.dropFirst(before).filter { $0.level >= .notice }
            let summary = lines.map { "\($0.level) \($0.message)" }.joined(separator: "\n")
            let warnings = lines.filter { $0.level >= .warning }
            #expect(warnings.map(\.message) == ["cache store unavailable; requests are answered without the cache until it is back"], "\(requests) requests during the outage logged:\n\(summary)")
            #expect(lines.filter { $0.message == "cache store available again" }.count == 1, "\(summary)")
            #expect(lines.count <= 6, "\(lines.count) lines at notice and above for one outage:\n\(summary)")
            let metrics = try await h.send("/metrics", method: .GET, key: nil).text
            #expect(metrics.contains("llm_cache_store_outages_total 1"))
        }
    }

    @Test("/readyz is 503 naming the upstream after a call could not connect to it")
    func readinessReportsAnUnreachableUpstream() async throws {
        let closed = try RedisProcess.freePort()
        try await Harness.run(configure: { $0.upstream.baseURL = "http://127.0.0.1:\(closed)/v1" }) { h in
            #expect(try await h.send("/readyz", method: .GET, key: nil).status == 200, "no call has failed yet")
            let failed = try await h.send("/v1/chat/completions", body: Harness.chat("nobody listens"))
            #expect(failed.status >= 500)
            let answer = try await h.send("/readyz", method: .GET, key: nil)
            #expect(answer.status == 503, "\(answer.text)")
            #expect(answer.json?["failing"] == .array([.string("upstream")]))
            #expect(answer.json?["checks"]?["upstream"]?["status"] == .string("unreachable"))
            #expect(answer.json?["checks"]?["upstream"]?["check"]?.stringValue?.contains("--upstream") == true)
            #expect(answer.json?["checks"]?["anthropic_upstream"]?["status"] == .string("ok"))
            #expect(answer.json?["checks"]?["store"]?["status"] == .string("ok"))
        }
    }

    @Test("a connect failure makes an upstream unreachable for 30 s, or until a call gets through")
    func upstreamReachabilityWindow() {
        let start = ContinuousClock.now
        var reachability = UpstreamReachability()
        #expect(reachability.status(now: start) == .reachable)
        reachability.failedToConnect(now: start, message: "connection refused")
        #expect(reachability.status(now: start + .seconds(29)) == .unreachable(age: .seconds(29), message: "connection refused"))
        #expect(reachability.status(now: start + .seconds(30)) == .reachable, "an old failure kept the upstream unreachable")
        reachability.failedToConnect(now: start + .seconds(40), message: "connection refused")
        reachability.reached()
        #expect(reachability.status(now: start + .seconds(41)) == .reachable)
    }

    @Test("the readiness decision: store or upstream failing is 503, a rebuilding index is not")
    func readinessDecision() {
        let up = StoreHealth(isAvailable: true, unavailableFor: nil, lastError: nil, failedOperations: 0, outages: 0)
        let ok = Readiness.UpstreamCheck(name: "upstream", url: "http://u/v1", option: "--upstream", status: .reachable)
        let rebuilding = Readiness(store: up, storeKind: "SQLiteStore", upstreams: [ok], semanticIndex: .rebuilding(progress: 0.25))
        #expect(rebuilding.isReady)
        #expect(rebuilding.json["status"] == .string("ready"))
        #expect(rebuilding.json["checks"]?["semantic_index"]?["progress"] == .number(JSONNumber(0.25)!))

        let down = StoreHealth(isAvailable: false, unavailableFor: .seconds(3), lastError: "connection refused", failedOperations: 7, outages: 1)
        var unreachable = ok
        unreachable.status = .unreachable(age: .seconds(2), message: "refused")
        let both = Readiness(store: down, storeKind: "TieredStore", upstreams: [unreachable], semanticIndex: .ready)
        #expect(!both.isReady)
        #expect(both.json["failing"] == .array([.string("store"), .string("upstream")]))
        #expect(both.json["checks"]?["store"]?["error"] == .string("connection refused"))
        #expect(both.json["checks"]?["store"]?["failed_operations"] == .number(JSONNumber(7)))
    }
}
