import AsyncHTTPClient
import Foundation
import LLMCache
import NIOCore
import Testing

@Suite("Proxy: per-request controls, validation, tenants, admin API and metrics", .serialized)
struct ProxyControlTests {
    @Test("Cache-Control no-cache refreshes, no-store does not store, max-age=0 refuses old answers")
    func cacheControl() async throws {
        try await Harness.run { h in
            let body = Harness.chat("controls")
            let answer0 = try await h.send("/v1/chat/completions", body: body)
            #expect(answer0.cache == "MISS")
            let answer1 = try await h.send("/v1/chat/completions", body: body, headers: [("Cache-Control", "no-cache")])
            #expect(answer1.cache == "MISS")
            #expect(h.upstream.snapshot.chat == 2)
            let answer2 = try await h.send("/v1/chat/completions", body: body)
            #expect(answer2.cache == "HIT")
            let answer3 = try await h.send("/v1/chat/completions", body: body, headers: [("Cache-Control", "max-age=0")])
            #expect(answer3.cache == "MISS")
            let answer4 = try await h.send("/v1/chat/completions", body: body, headers: [("Cache-Control", "max-age=3600")])
            #expect(answer4.cache == "HIT")

            let unstored = Harness.chat("not stored")
            let answer5 = try await h.send("/v1/chat/completions", body: unstored, headers: [("Cache-Control", "no-store")])
            #expect(answer5.cache == "MISS")
            let answer6 = try await h.send("/v1/chat/completions", body: unstored)
            #expect(answer6.cache == "MISS")
            let answer7 = try await h.send("/v1/chat/completions", body: unstored, headers: [("Cache-Control", "no-cache, no-store")])
            #expect(answer7.cache == "BYPASS")
            #expect(h.upstream.snapshot.chat == 6)
        }
    }

    @Test("X-Cache-TTL sets the expiry and X-Cache-Tags make entries invalidatable by tag")
    func ttlAndTags() async throws {
        try await Harness.run { h in
            let tagged = try await h.send("/v1/chat/completions", body: Harness.chat("tagged"), headers: [("X-Cache-TTL", "120"), ("X-Cache-Tags", "faq, release-3")])
            #expect(tagged.cache == "MISS")
            let export = try await h.admin(.GET, "/admin/export")
            let lines = export.text.split(separator: "\n").dropFirst().compactMap { try? JSONValue(parsing: String($0)) }
            let entry = try #require(lines.first)
            #expect(entry["tags"] == .array([.string("faq"), .string("release-3")]))
            let created = try #require(entry["created_at_ns"]?.numberValue?.doubleValue)
            let expires = try #require(entry["expires_at_ns"]?.numberValue?.doubleValue)
            #expect(abs((expires - created) / 1e9 - 120) < 1)

            let invalidated = try await h.admin(.POST, "/admin/invalidate", body: #"{"tag":"release-3"}"#)
            #expect(invalidated.json?["invalidated"] == .number(JSONNumber(1)))
            let answer8 = try await h.send("/v1/chat/completions", body: Harness.chat("tagged"))
            #expect(answer8.cache == "MISS")
        }
    }

    @Test("malformed cache headers are a 400 naming the header, and never reach the upstream", arguments: [
        ("Cache-Control", "max-age=soon"), ("Cache-Control", "max-age=-5"), ("X-Cache-TTL", "0"), ("X-Cache-TTL", "1h"),
        ("X-Cache-Tags", "a,,b"), ("X-Cache-Semantic", "maybe"), ("X-Cache-Semantic", "threshold=1.5"), ("X-Cache-Semantic", "threshold=abc"),
    ])
    func malformedHeaders(name: String, value: String) async throws {
        try await Harness.run { h in
            let answer = try await h.send("/v1/chat/completions", body: Harness.chat("headers"), headers: [(name, value)])
            #expect(answer.status == 400)
            #expect(answer.json?["error"]?["type"] == .string("invalid_request_error"))
            #expect(answer.json?["error"]?["param"] == .string(name))
            #expect(h.upstream.snapshot.total == 0)
        }
    }

    @Test("well-formed semantic headers are accepted", arguments: ["off", "on", "threshold=0.85", "THRESHOLD = 1"])
    func semanticHeaderAccepted(value: String) async throws {
        try await Harness.run { h in
            let answer9 = try await h.send("/v1/chat/completions", body: Harness.chat("semantic"), headers: [("X-Cache-Semantic", value)])
            #expect(answer9.status == 200)
        }
    }

    struct BadBody: CustomTestStringConvertible, Sendable {
        var path: String
        var body: String
        var status: Int
        var param: String?
        var testDescription: String { "\(path) \(body.prefix(40))" }
    }

    static let badBodies = [
        BadBody(path: "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}"#, status: 400, param: "messages"),
        BadBody(path: "/v1/chat/completions", body: #"[1,2]"#, status: 400, param: "$"),
        BadBody(path: "/v1/chat/completions", body: #"{"messages":[{"role":"user","content":"hi"}]}"#, status: 400, param: "model"),
        BadBody(path: "/v1/chat/completions", body: #"{"model":"gpt-4o"}"#, status: 400, param: "messages"),
        BadBody(path: "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":"hi"}"#, status: 400, param: "messages"),
        BadBody(path: "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#, status: 400, param: "temperature"),
        BadBody(path: "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[{"content":"hi"}]}"#, status: 400, param: "messages[0].role"),
        BadBody(path: "/v1/completions", body: #"{"model":"gpt-3.5-turbo-instruct"}"#, status: 400, param: "prompt"),
        BadBody(path: "/v1/embeddings", body: #"{"model":"text-embedding-3-small","input":42}"#, status: 400, param: "input"),
        BadBody(path: "/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[{"role":"user","content":""# + String(repeating: "x", count: 5000) + #""}]}"#, status: 413, param: nil),
    ]

    @Test("bad requests get OpenAI-style 4xx errors and never reach the upstream", arguments: badBodies)
    func badRequests(bad: BadBody) async throws {
        try await Harness.run(configure: { $0.maximumRequestBytes = 4096 }) { h in
            let answer = try await h.send(bad.path, body: bad.body)
            #expect(answer.status == bad.status)
            let error = try #require(answer.json?["error"])
            #expect(error["type"] == .string("invalid_request_error"))
            #expect(error["message"]?.stringValue?.isEmpty == false)
            #expect(error["code"] == .null)
            #expect(error["param"] == (bad.param.map(JSONValue.string) ?? .null))
            #expect(h.upstream.snapshot.total == 0)
        }
    }

    @Test("two API keys never see each other's entries")
    func tenantIsolation() async throws {
        try await Harness.run { h in
            let body = Harness.chat("private question")
            let answer10 = try await h.send("/v1/chat/completions", body: body, key: "sk-alice")
            #expect(answer10.cache == "MISS")
            let answer11 = try await h.send("/v1/chat/completions", body: body, key: "sk-bob")
            #expect(answer11.cache == "MISS")
            let answer12 = try await h.send("/v1/chat/completions", body: body, key: "sk-alice")
            #expect(answer12.cache == "HIT")
            let answer13 = try await h.send("/v1/chat/completions", body: body, key: "sk-bob")
            #expect(answer13.cache == "HIT")
            #expect(h.upstream.snapshot.chat == 2)
            let dropped = try await h.admin(.POST, "/admin/invalidate", body: #"{"api_key":"sk-alice"}"#)
            #expect(dropped.json?["invalidated"] == .number(JSONNumber(1)))
            let answer14 = try await h.send("/v1/chat/completions", body: body, key: "sk-alice")
            #expect(answer14.cache == "MISS")
            let answer15 = try await h.send("/v1/chat/completions", body: body, key: "sk-bob")
            #expect(answer15.cache == "HIT")
        }
    }

    @Test("a body answered on one route is still checked on another, and other credential headers get their own tenant")
    func repeatedBodyOnOtherRouteAndKey() async throws {
        try await Harness.run { h in
            let body = Harness.chat("route question")
            let first = try await h.send("/v1/chat/completions", body: body)
            #expect(first.cache == "MISS")
            let repeated = try await h.send("/v1/chat/completions", body: body)
            #expect(repeated.cache == "HIT")
            let elsewhere = try await h.send("/v1/embeddings", body: body)
            #expect(elsewhere.status == 400)
            #expect(elsewhere.json?["error"]?["param"] == .string("input"))
            let otherKey = try await h.send("/v1/chat/completions", body: body, key: nil, headers: [("x-api-key", "sk-carol")])
            #expect(otherKey.cache == "MISS")
            #expect(h.upstream.snapshot.chat == 2)
        }
    }

    @Test("a shared namespace shares entries across keys, only when configured")
    func sharedNamespace() async throws {
        try await Harness.run(configure: { $0.tenancy.sharedNamespace = "team" }) { h in
            let body = Harness.chat("shared question")
            let answer16 = try await h.send("/v1/chat/completions", body: body, key: "sk-alice")
            #expect(answer16.cache == "MISS")
            let answer17 = try await h.send("/v1/chat/completions", body: body, key: "sk-bob")
            #expect(answer17.cache == "HIT")
        }
    }

    @Test("the admin API needs the token, and is off without one")
    func adminAuth() async throws {
        try await Harness.run { h in
            let answer18 = try await h.admin(.GET, "/admin/stats", token: nil)
            #expect(answer18.status == 401)
            let answer19 = try await h.admin(.GET, "/admin/stats", token: "wrong-token-wrong-token")
            #expect(answer19.status == 401)
            let answer20 = try await h.admin(.GET, "/admin/stats", token: Harness.adminToken + "x")
            #expect(answer20.status == 401)
            let answer21 = try await h.admin(.GET, "/admin/stats")
            #expect(answer21.status == 200)
        }
        try await Harness.run(configure: { $0.admin.token = nil }) { h in
            let answer22 = try await h.admin(.GET, "/admin/stats")
            #expect(answer22.status == 403)
            let answer23 = try await h.admin(.POST, "/admin/invalidate", body: #"{"all":true}"#)
            #expect(answer23.status == 403)
        }
    }

    @Test("admin: stats, invalidate by key, model, namespace and all; bad selectors are 400")
    func adminOperations() async throws {
        try await Harness.run { h in
            let first = try await h.send("/v1/chat/completions", body: Harness.chat("one"))
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("one"))
            _ = try await h.send("/v1/completions", body: #"{"model":"gpt-3.5-turbo-instruct","prompt":"two"}"#)
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("three"))
            let stats = try await h.admin(.GET, "/admin/stats")
            #expect(stats.json?["hits"] == .number(JSONNumber(1)))
            #expect(stats.json?["misses"] == .number(JSONNumber(3)))
            #expect(stats.json?["store"]?["entries"] == .number(JSONNumber(3)))
            #expect((stats.json?["prompt_tokens_saved"]?.numberValue?.intValue ?? 0) > 0)

            let key = try #require(first.headers.first(name: "X-Cache-Key"))
            let answer24 = try await h.admin(.POST, "/admin/invalidate", body: #"{"key":"\#(key)"}"#)
            #expect(answer24.json?["invalidated"] == .number(JSONNumber(1)))
            let answer25 = try await h.admin(.POST, "/admin/invalidate", body: #"{"model":"gpt-3.5-*"}"#)
            #expect(answer25.json?["invalidated"] == .number(JSONNumber(1)))
            let answer26 = try await h.admin(.POST, "/admin/invalidate", body: #"{"older_than_seconds":3600}"#)
            #expect(answer26.json?["invalidated"] == .number(JSONNumber(0)))
            let answer27 = try await h.admin(.POST, "/admin/invalidate", body: #"{"all":true}"#)
            #expect(answer27.json?["invalidated"] == .number(JSONNumber(1)))
            for bad in [#"{}"#, #"{"key":"abc"}"#, #"{"tag":"a","all":true}"#, #"{"all":false}"#, #"{"colour":"red"}"#, "nope"] {
                let answer28 = try await h.admin(.POST, "/admin/invalidate", body: bad)
                #expect(answer28.status == 400)
            }
        }
    }

    @Test("admin: a warm upload is served as hits to the tenant it names; export lists it")
    func adminWarm() async throws {
        try await Harness.run { h in
            let file = """
            {"request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What are your opening hours?"}]}, "response": "9 to 5, Monday to Friday.", "tags": ["faq"]}
            {"request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Where are you?"}]}, "response": "Main Street 1."}
            """
            let answer29 = try await h.admin(.POST, "/admin/warm", body: file)
            #expect(answer29.status == 400)
            let warmed = try await h.admin(.POST, "/admin/warm?api_key=sk-test-one", body: file)
            #expect(warmed.json?["stored"] == .number(JSONNumber(2)))
            let hit = try await h.send("/v1/chat/completions", body: Harness.chat("What are your opening hours?"))
            #expect(hit.cache == "HIT")
            #expect(hit.json?["choices"]?.arrayValue?.first?["message"]?["content"] == .string("9 to 5, Monday to Friday."))
            let answer30 = try await h.send("/v1/chat/completions", body: Harness.chat("What are your opening hours?"), key: "sk-other")
            #expect(answer30.cache == "MISS")
            let export = try await h.admin(.GET, "/admin/export")
            let lines = export.text.split(separator: "\n")
            #expect(lines.first?.contains("llm-cache-entries") == true)
            #expect(lines.count == 1 + 3)
            let answer31 = try await h.admin(.POST, "/admin/warm?namespace=x", body: #"{"request": {"model": 1}, "response": "x"}"#)
            #expect(answer31.status == 400)
        }
    }

    @Test("/metrics exports hits, misses, latency histograms and tokens and cost saved")
    func metrics() async throws {
        try await Harness.run { h in
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("metered"))
            _ = try await h.send("/v1/chat/completions", body: Harness.chat("metered"))
            let text = try await h.send("/metrics", method: .GET, key: nil).text
            #expect(text.contains(#"llm_cache_proxy_requests_total{route="chat_completions",cache="hit"} 1"#))
            #expect(text.contains(#"llm_cache_proxy_requests_total{route="chat_completions",cache="miss"} 1"#))
            #expect(text.contains("llm_cache_hits_total 1"))
            #expect(text.contains("llm_cache_misses_total 1"))
            #expect(text.contains(#"llm_cache_proxy_request_duration_seconds_count{route="chat_completions",cache="hit"} 1"#))
            #expect(text.contains("llm_cache_proxy_upstream_duration_seconds_count 1"))
            // Savings are counted per route.
            let prompt = text.split(separator: "\n").first { $0.hasPrefix(#"llm_cache_proxy_prompt_tokens_saved_total{route="chat_completions"} "#) }
            #expect(prompt.flatMap { Int($0.split(separator: " ").last!) }.map { $0 > 0 } == true)
            let cost = text.split(separator: "\n").first { $0.hasPrefix(#"llm_cache_proxy_cost_saved_usd_total{route="chat_completions"} "#) }
            #expect(cost.flatMap { Double($0.split(separator: " ").last!) }.map { $0 > 0 } == true)
            #expect(text.contains(#"llm_cache_proxy_prompt_tokens_saved_total{route="messages"} 0"#))
        }
    }
}
