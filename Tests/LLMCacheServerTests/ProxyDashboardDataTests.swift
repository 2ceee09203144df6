import Foundation
import LLMCache
@testable import LLMCacheServer
import Testing

/// The admin API behind the dashboard (`/admin/stats`, `/admin/history`,
/// `/admin/breakdown`, `/admin/semantic-hits`) and the page's route.
@Suite("Proxy dashboard data")
struct ProxyDashboardDataTests {
    static func int(_ value: JSONValue?) -> Int? { value?.numberValue?.intValue }
    static func double(_ value: JSONValue?) -> Double? { value?.numberValue?.doubleValue }

    static func embedding(_ text: String, model: String = "text-embedding-3-small") -> String {
        #"{"model":"\#(model)","input":"\#(text)"}"#
    }

    @Test("stats: requests is hits + semantic hits + misses + bypasses, saved_tokens is prompt + completion tokens saved")
    func statsTotals() async throws {
        try await Harness.run { h in
            let body = Harness.chat("stats totals")
            #expect(try await h.send("/v1/chat/completions", body: body).cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: body).cache == "HIT")
            #expect(try await h.send("/v1/chat/completions", body: body).cache == "HIT")
            #expect(try await h.send("/v1/chat/completions", body: body, headers: [("Cache-Control", "no-cache, no-store")]).cache == "BYPASS")
            // Rejected before the cache: not one of its requests.
            #expect(try await h.send("/v1/chat/completions", body: "{not json").status == 400)

            let stats = try #require(try await h.admin(.GET, "/admin/stats").json)
            #expect(Self.int(stats["requests"]) == 4)
            let parts = ["hits", "semantic_hits", "misses", "bypasses"].map { Self.int(stats[$0]) ?? -1 }
            #expect(parts == [2, 0, 1, 1])
            let saved = try #require(Self.int(stats["saved_tokens"]))
            #expect(saved > 0)
            #expect(saved == (Self.int(stats["prompt_tokens_saved"]) ?? 0) + (Self.int(stats["completion_tokens_saved"]) ?? 0))
            // The fields the page shows beside them are still there.
            for field in ["hit_ratio", "cost_saved_usd", "time_saved_seconds", "store_errors"] { #expect(stats[field] != nil, "\(field)") }
            #expect(stats["store"]?["entries"] != nil && stats["store"]?["stored_bytes"] != nil)
        }
    }

    @Test("history: each request is counted in the bucket of its time, with latency quantiles, and rolls over")
    func historyBuckets() async throws {
        let clock = ManualCacheClock()
        let start = Int(ProxyHistory.seconds(clock.now()))
        try await Harness.run(configure: { $0.historyClock = clock }, upstreamDelay: .milliseconds(40)) { h in
            let first = Harness.chat("history one"), second = Harness.chat("history two")
            #expect(try await h.send("/v1/chat/completions", body: first).cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: first).cache == "HIT")
            clock.advance(by: .seconds(10))
            #expect(try await h.send("/v1/chat/completions", body: first).cache == "HIT")
            #expect(try await h.send("/v1/chat/completions", body: second).cache == "MISS")
            #expect(try await h.send("/v1/chat/completions", body: "{not json").status == 400)

            let hour = try #require(try await h.admin(.GET, "/admin/history").json)
            #expect(hour["range"]?.stringValue == "hour")
            #expect(Self.int(hour["interval_seconds"]) == 10)
            #expect(Self.int(hour["now"]) == start + 10)
            let buckets = try #require(hour["buckets"]?.arrayValue)
            // Only buckets that have started since the proxy did.
            #expect(buckets.map { Self.int($0["start"]) } == [start, start + 10])
            let counts = buckets.map { bucket in
                ["hit", "semantic_hit", "miss", "bypass", "upstream_error", "rejected"].map { Self.int(bucket["requests"]?[$0]) ?? -1 }
            }
            #expect(counts == [[1, 0, 1, 0, 0, 0], [1, 0, 1, 0, 0, 1]])
            #expect(buckets.allSatisfy { Self.int($0["saved_tokens"]) ?? 0 > 0 && Self.double($0["saved_cost_usd"]) ?? 0 > 0 })
            for bucket in buckets {
                let hit = try #require(bucket["latency_ms"]?["hit"]), miss = try #require(bucket["latency_ms"]?["miss"])
                let hitP50 = try #require(Self.double(hit["p50"])), hitP99 = try #require(Self.double(hit["p99"]))
                let missP50 = try #require(Self.double(miss["p50"])), missP99 = try #require(Self.double(miss["p99"]))
                #expect(hitP50 > 0 && hitP50 <= hitP99)
                // The upstream takes 40 ms; an estimate is within a bin (a quarter of an octave).
                #expect(missP50 >= 30 && missP50 <= missP99)
                #expect(hitP50 < missP50)
            }

            let day = try #require(try await h.admin(.GET, "/admin/history?range=day").json)
            #expect(Self.int(day["interval_seconds"]) == 300)
            let dayBuckets = try #require(day["buckets"]?.arrayValue)
            #expect(dayBuckets.count == 1)
            #expect(Self.int(dayBuckets.first?["requests"]?["hit"]) == 2 && Self.int(dayBuckets.first?["requests"]?["miss"]) == 2)

            // An hour on, the hour's ring has let those go; the day's has not.
            clock.advance(by: .seconds(3600))
            let later = try #require(try await h.admin(.GET, "/admin/history").json?["buckets"]?.arrayValue)
            #expect(later.count == 360)
            #expect(Self.int(later.last?["start"]) == start + 3610)
            #expect(later.allSatisfy { Self.int($0["requests"]?["hit"]) == 0 && $0["latency_ms"]?["hit"]?["p50"] == .null })
            let laterDay = try #require(try await h.admin(.GET, "/admin/history?range=day").json?["buckets"]?.arrayValue)
            #expect(Self.int(laterDay.first?["requests"]?["hit"]) == 2)

            // A request now lands in the slot the second bucket had: it starts afresh.
            #expect(try await h.send("/v1/chat/completions", body: first).cache == "HIT")
            let reused = try #require(try await h.admin(.GET, "/admin/history").json?["buckets"]?.arrayValue)
            #expect(reused.compactMap { Self.int($0["requests"]?["hit"]) }.reduce(0, +) == 1)
            #expect(Self.int(reused.last?["requests"]?["miss"]) == 0)

            // More than a day on, both rings hold as many buckets as they can, and no more.
            clock.advance(by: .seconds(25 * 3600))
            #expect(try await h.send("/v1/chat/completions", body: first).cache == "HIT")
            let hourCount = try await h.admin(.GET, "/admin/history?range=hour").json?["buckets"]?.arrayValue?.count
            let dayAfter = try #require(try await h.admin(.GET, "/admin/history?range=day").json?["buckets"]?.arrayValue)
            #expect(hourCount == 360)
            #expect(dayAfter.count == 288)
            #expect(dayAfter.compactMap { Self.int($0["requests"]?["hit"]) }.reduce(0, +) == 1)

            let wrong = try await h.admin(.GET, "/admin/history?range=week")
            #expect(wrong.status == 400)
            #expect(wrong.text.contains("hour") && wrong.text.contains("day"))
        }
    }

    @Test("breakdown: requests and savings by route and by model; rejected requests count under their route only")
    func breakdownByRouteAndModel() async throws {
        try await Harness.run { h in
            let chat = Harness.chat("breakdown")
            _ = try await h.send("/v1/chat/completions", body: chat)
            _ = try await h.send("/v1/chat/completions", body: chat)
            _ = try await h.send("/v1/chat/completions", body: chat, headers: [("Cache-Control", "no-cache, no-store")])
            #expect(try await h.send("/v1/chat/completions", body: "{not json").status == 400)
            _ = try await h.send("/v1/embeddings", body: Self.embedding("breakdown"))

            let breakdown = try #require(try await h.admin(.GET, "/admin/breakdown").json)
            let routes = try #require(breakdown["by_route"]?.objectValue)
            #expect(Set(routes.keys) == ["chat_completions", "completions", "embeddings", "responses", "messages"])
            let fields = ["requests", "hits", "semantic_hits", "misses", "bypasses", "errors"]
            #expect(fields.map { Self.int(routes["chat_completions"]?[$0]) } == [4, 1, 0, 1, 1, 1])
            #expect(fields.map { Self.int(routes["embeddings"]?[$0]) } == [1, 0, 0, 1, 0, 0])
            #expect(Self.int(routes["responses"]?["requests"]) == 0)
            #expect(Self.int(routes["chat_completions"]?["saved_tokens"]) ?? 0 > 0)
            #expect(Self.double(routes["chat_completions"]?["saved_cost_usd"]) ?? 0 > 0)

            let models = try #require(breakdown["by_model"]?.objectValue)
            #expect(Set(models.keys) == ["gpt-4o-mini", "text-embedding-3-small"])
            #expect(fields.map { Self.int(models["gpt-4o-mini"]?[$0]) } == [3, 1, 0, 1, 1, 0])
            #expect(Self.int(models["gpt-4o-mini"]?["saved_tokens"]) == Self.int(routes["chat_completions"]?["saved_tokens"]))
        }
    }

    @Test("breakdown: at most 50 model names are kept; the rest, and overlong names, count under other")
    func modelCap() async throws {
        try await Harness.run { h in
            // One name is already kept by the first request.
            for index in 0..<55 {
                _ = try await h.send("/v1/embeddings", body: Self.embedding("cap", model: "made-up-\(index)"))
            }
            _ = try await h.send("/v1/embeddings", body: Self.embedding("cap", model: "made-up-0"))
            let models = try #require(try await h.admin(.GET, "/admin/breakdown").json?["by_model"]?.objectValue)
            #expect(models.count == 51)
            #expect(Self.int(models["made-up-0"]?["requests"]) == 2)
            #expect(Self.int(models["made-up-49"]?["requests"]) == 1)
            #expect(models["made-up-50"] == nil)
            #expect(Self.int(models["other"]?["requests"]) == 5)
            let total = models.values.compactMap { Self.int($0["requests"]) }.reduce(0, +)
            #expect(total == 56)
        }

        var breakdown = ProxyBreakdown()
        breakdown.record(.chat, .miss, model: String(repeating: "m", count: 200), savedTokens: 0, savedCost: 0)
        breakdown.record(.chat, .hit, model: "gpt-4o", savedTokens: 7, savedCost: 0.5)
        let snapshot = breakdown.snapshot()
        #expect(snapshot.models.keys.sorted() == ["gpt-4o", "other"])
        #expect(snapshot.models["gpt-4o"]?.savedTokens == 7)
        #expect(snapshot.routes[ProxyMetrics.Route.chat.rawValue].requests == 2)
    }

    @Test("semantic hits: newest first, with the matched key /admin/incorrect-hit takes, the similarity and the request's text")
    func semanticHits() async throws {
        try await Harness.run(configure: ProxySemanticTests.semanticOn, semantic: try ProxySemanticTests.tier()) { h in
            let miss = try await h.send("/v1/chat/completions", body: Harness.chat("What is the capital city of France?"))
            #expect(miss.cache == "MISS")
            let hit = try await h.send("/v1/chat/completions", body: Harness.chat("what's the capital of France?"))
            #expect(hit.cache == "SEMANTIC-HIT")
            let similarity = try #require(hit.headers.first(name: "X-Cache-Similarity").flatMap(Double.init))

            let listed = try #require(try await h.admin(.GET, "/admin/semantic-hits").json?["hits"]?.arrayValue)
            #expect(listed.count == 1)
            let entry = try #require(listed.first)
            #expect(entry["route"]?.stringValue == "chat_completions")
            #expect(entry["model"]?.stringValue == "gpt-4o-mini")
            #expect(entry["key"]?.stringValue == miss.headers.first(name: "X-Cache-Key"))
            #expect(entry["text"]?.stringValue == "what's the capital of France?")
            #expect(Self.double(entry["similarity"]) == similarity)
            let at = try #require(Self.int(entry["at"]))
            #expect(abs(Double(at) - Date().timeIntervalSince1970) < 60)

            let breakdown = try await h.admin(.GET, "/admin/breakdown").json
            #expect(Self.int(breakdown?["by_route"]?["chat_completions"]?["semantic_hits"]) == 1)
            let history = try await h.admin(.GET, "/admin/history").json?["buckets"]?.arrayValue ?? []
            #expect(history.compactMap { Self.int($0["requests"]?["semantic_hit"]) }.reduce(0, +) == 1)

            #expect(try await h.admin(.GET, "/admin/semantic-hits?limit=0").json?["hits"]?.arrayValue?.isEmpty == true)
            #expect(try await h.admin(.GET, "/admin/semantic-hits?limit=1000").json?["hits"]?.arrayValue?.count == 1)
            #expect(try await h.admin(.GET, "/admin/semantic-hits?limit=many").status == 400)
            // The key it lists is the one a report takes.
            let report = try await h.admin(.POST, "/admin/incorrect-hit", body: #"{"key":"\#(entry["key"]?.stringValue ?? "")"}"#)
            #expect(report.status == 200)
        }
    }

    @Test("semantic hits: a fixed ring of 100, texts cut to 200 characters")
    func semanticHitRing() throws {
        var ring = RecentSemanticHits()
        let key = try #require(CacheKey(hex: String(repeating: "ab", count: 32)))
        for index in 0..<150 {
            ring.append(RecentSemanticHits.Hit(route: .chat, model: "m", similarity: 0.9, key: key, text: "text \(index)"), at: Int64(index))
        }
        let newest = ring.newest(1000)
        #expect(newest.count == 100)
        #expect(newest.first?.at == 149 && newest.last?.at == 50)
        #expect(ring.newest(3).map(\.hit.text) == ["text 149", "text 148", "text 147"])

        let long = RecentSemanticHits.Hit(route: .chat, model: "m", similarity: 0.9, key: key, text: String(repeating: "é", count: 500))
        #expect(long.text.count == 200)
        // A character of many combining marks is cut too.
        let marks = RecentSemanticHits.Hit(route: .chat, model: "m", similarity: 0.9, key: key, text: "a" + String(repeating: "\u{301}", count: 5000))
        #expect(marks.text.unicodeScalars.count == 200)
        #expect(RecentSemanticHits().newest(20).isEmpty)
    }

    @Test("latency bins: a quantile is within a bin of the latency recorded")
    func latencyEstimates() {
        for microseconds in [5, 17, 250, 1_000, 42_000, 1_500_000, 90_000_000] {
            var counts = [UInt32](repeating: 0, count: LatencyHistogram.binCount)
            counts[LatencyHistogram.bin(.microseconds(microseconds))] += 1
            let estimate = LatencyHistogram.quantile(0.5, of: counts[...]).map { $0 * 1000 } ?? -1
            #expect(abs(estimate - Double(microseconds)) <= max(20, Double(microseconds) * 0.25), "\(microseconds) µs read as \(estimate)")
        }
        #expect(LatencyHistogram.quantile(0.99, of: [UInt32](repeating: 0, count: LatencyHistogram.binCount)[...]) == nil)
    }

    @Test("/dashboard serves the page without a token, with a strict content security policy")
    func dashboardPage() async throws {
        try await Harness.run { h in
            for path in ["/dashboard", "/dashboard/"] {
                let page = try await h.send(path, method: .GET, key: nil)
                #expect(page.status == 200, "\(path)")
                #expect(page.headers.first(name: "Content-Type") == "text/html; charset=utf-8")
                #expect(page.headers.first(name: "Cache-Control") == "no-store")
                #expect(page.headers.first(name: "Content-Security-Policy") == "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
                #expect(page.headers.first(name: "X-Content-Type-Options") == "nosniff")
                #expect(page.headers.first(name: "Referrer-Policy") == "no-referrer")
                #expect(page.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased().hasPrefix("<!doctype html"))
            }
        }
    }

    @Test("the dashboard's admin endpoints need the token, and say how to enable them when disabled")
    func adminEndpointsNeedTheToken() async throws {
        let paths = ["/admin/stats", "/admin/history", "/admin/history?range=day", "/admin/breakdown", "/admin/semantic-hits"]
        try await Harness.run { h in
            for path in paths {
                let missing = try await h.admin(.GET, path, token: nil).status
                let wrong = try await h.admin(.GET, path, token: "not-the-admin-token").status
                let right = try await h.admin(.GET, path).status
                let statuses: [Int] = [missing, wrong, right]
                #expect(statuses == [401, 401, 200], "\(path)")
            }
        }
        try await Harness.run(configure: { $0.admin.token = nil }) { h in
            #expect(try await h.send("/dashboard", method: .GET, key: nil).status == 200)
            for path in paths {
                let answer = try await h.admin(.GET, path)
                #expect(answer.status == 403, "\(path)")
                #expect(answer.text.contains("--admin-token"))
            }
        }
    }
}
