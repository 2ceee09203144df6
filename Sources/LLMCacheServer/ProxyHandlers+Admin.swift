import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import NIOCore

/// The admin API, behind `Authorization: Bearer <admin token>`:
///
/// - `GET /admin/stats`: requests, hits, misses, time and tokens saved,
///   entries and bytes, and the readiness `GET /readyz` reports, as JSON.
/// - `GET /admin/history[?range=hour|day]`: requests by outcome, hit and miss
///   latency quantiles and savings in 10-second buckets over the last hour, or
///   5-minute ones over the last day (``ProxyHistory``).
/// - `GET /admin/breakdown`: requests and savings by route and by model.
/// - `GET /admin/semantic-hits[?limit=N]`: the last semantic hits (20 by
///   default, up to 100), newest first.
/// - `POST /admin/invalidate`: a JSON object with exactly one selector —
///   `{"key": "<hex>"}`, `{"tag": "faq"}`, `{"model": "gpt-4o*"}` (optionally
///   with `"namespace": "<glob>"`), `{"namespace": "name"}`, `{"api_key": "sk-..."}`
///   (that tenant's namespace), `{"older_than_seconds": 3600}`, `{"all": true}` —
///   answered with `{"invalidated": N}`.
/// - `POST /admin/warm[?namespace=N | ?api_key=K]`: a warm file (JSON lines of
///   request/response pairs); lines without a namespace go to the one named
///   by the query, else the shared namespace.
/// - `GET /admin/export[?namespace=N]`: every live entry as llm-cache-entries JSON lines.
/// - `POST /admin/incorrect-hit`: `{"key": "<hex>"}`, the `X-Cache-Key` of a
///   `SEMANTIC-HIT` that did not answer its request. That entry stops being
///   served by meaning (it still answers its own exact request).
extension ProxyHandlers {
    func registerAdmin(on router: Router<BasicRequestContext>) {
        router.get("/admin/stats") { request, _ in await admin(request) { _ in await stats() } }
        router.get("/admin/history") { request, _ in await admin(request) { _ in history(query: Self.query(request)) } }
        router.get("/admin/breakdown") { request, _ in await admin(request) { _ in breakdown() } }
        router.get("/admin/semantic-hits") { request, _ in await admin(request) { _ in semanticHits(query: Self.query(request)) } }
        router.post("/admin/invalidate") { request, _ in await admin(request) { body in await invalidate(body) } }
        router.post("/admin/warm") { request, _ in await admin(request) { body in await warm(body, query: Self.query(request)) } }
        router.get("/admin/export") { request, _ in await admin(request) { _ in export(query: Self.query(request)) } }
        router.post("/admin/incorrect-hit") { request, _ in await admin(request) { body in await incorrectHit(body) } }
    }

    /// Checks the token, reads the body (up to 256 MiB, for warm files), runs `body`.
    func admin(_ request: Request, _ handler: (ByteBuffer) async -> Response) async -> Response {
        guard let token = server.adminToken else {
            return OpenAIErrorBody.response(.forbidden, message: "the admin API is disabled; start the proxy with --admin-token (or LLMCACHE_ADMIN_TOKEN) to enable it", type: "permission_error")
        }
        guard token.accepts(request.headers) else {
            return OpenAIErrorBody.response(.unauthorized, message: "the admin API needs Authorization: Bearer <admin token>", type: "authentication_error")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 256 << 20)
        } catch {
            return OpenAIErrorBody.response(.contentTooLarge, message: "admin uploads are limited to 256 MiB; split the file")
        }
        return await handler(body)
    }

    static func query(_ request: Request) -> [String: String] {
        Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { first, _ in first })
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.jsonBytes)))
    }

    static func number(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
    static func number(_ value: Double) -> JSONValue { JSONNumber(value).map(JSONValue.number) ?? .null }

    func stats() async -> Response {
        let statistics = await cache.statistics()
        let byRoute = metrics.savings.byRoute
        let saved = metrics.savings.totals
        var object: [String: JSONValue] = [
            // Every call the cache answered counts as exactly one of these
            // four; a rejected request never reaches it.
            "requests": Self.number(statistics.hits + statistics.semanticHits + statistics.misses + statistics.bypasses),
            "hits": Self.number(statistics.hits),
            "semantic_hits": Self.number(statistics.semanticHits),
            "misses": Self.number(statistics.misses),
            "bypasses": Self.number(statistics.bypasses),
            "hit_ratio": Self.number(statistics.hitRatio),
            "store_errors": Self.number(statistics.storeErrors),
            "rejected_entries": Self.number(statistics.rejectedEntries),
            "computations": Self.number(statistics.computations),
            "shared_computations": Self.number(statistics.sharedComputations),
            "time_saved_seconds": Self.number(statistics.timeSaved.seconds),
            "prompt_tokens_saved": Self.number(saved.prompt),
            "cached_prompt_tokens_saved": Self.number(saved.cachedPrompt),
            "completion_tokens_saved": Self.number(saved.completion),
            "saved_tokens": Self.number(saved.prompt + saved.completion),
            "cost_saved_usd": Self.number(saved.cost),
            "saved_by_route": .object(Dictionary(uniqueKeysWithValues: ProxyMetrics.Route.allCases.map { route in
                let saved = byRoute[route.rawValue]
                return (route.label, JSONValue.object([
                    "prompt_tokens": Self.number(saved.prompt),
                    "cached_prompt_tokens": Self.number(saved.cachedPrompt),
                    "completion_tokens": Self.number(saved.completion),
                    "cost_usd": Self.number(saved.cost),
                ]))
            })),
        ]
        // The same as GET /readyz, so one call shows both what the cache did and why.
        object["readiness"] = await readiness().json
        if let store = statistics.store {
            object["store"] = .object([
                "entries": Self.number(store.entries),
                "stored_bytes": Self.number(store.storedBytes),
                "raw_bytes": Self.number(store.rawBytes),
                "evictions": Self.number(store.evictions),
                "expirations": Self.number(store.expirations),
                "corrupt_entries": Self.number(store.corruptEntries),
            ])
        }
        if let semantic = cache.semantic {
            // The in-process vector index lives outside the store's budget and has one of its own.
            let index = semantic.indexStatistics
            object["semantic"] = .object([
                "index_entries": Self.number(index.entries),
                "index_bytes": Self.number(index.bytes),
                "index_budget_bytes": index.budgetBytes.map(Self.number) ?? .null,
                "index_evictions": Self.number(index.evictions),
                "skipped_lookups": Self.number(statistics.semanticSkips),
            ])
        }
        return Self.json(.object(object))
    }

    func history(query parameters: [String: String]) -> Response {
        let name = parameters["range"] ?? ProxyHistory.Range.hour.rawValue
        guard let range = ProxyHistory.Range(rawValue: name) else {
            return OpenAIErrorBody.response(.badRequest, message: "range must be hour (10-second buckets) or day (5-minute buckets), got \(name)", param: "range")
        }
        let (now, buckets) = metrics.history.buckets(range)
        func latency(_ p50: Double?, _ p99: Double?) -> JSONValue {
            .object(["p50": p50.map(Self.number) ?? .null, "p99": p99.map(Self.number) ?? .null])
        }
        return Self.json(.object([
            "range": .string(range.rawValue),
            "interval_seconds": Self.number(Int(range.interval)),
            "now": Self.number(Int(now)),
            "buckets": .array(buckets.map { bucket in
                .object([
                    "start": Self.number(Int(bucket.start)),
                    "requests": .object(Dictionary(uniqueKeysWithValues: ProxyMetrics.Outcome.allCases.map { ($0.label, Self.number(bucket.requests[$0.rawValue])) })),
                    "latency_ms": .object(["hit": latency(bucket.hitP50, bucket.hitP99), "miss": latency(bucket.missP50, bucket.missP99)]),
                    "saved_cost_usd": Self.number(bucket.savedCost),
                    "saved_tokens": Self.number(bucket.savedTokens),
                ])
            }),
        ]))
    }

    func breakdown() -> Response {
        let snapshot = metrics.history.breakdown()
        func tally(_ tally: ProxyBreakdown.Tally) -> JSONValue {
            .object([
                "requests": Self.number(tally.requests),
                "hits": Self.number(tally.hits),
                "semantic_hits": Self.number(tally.semanticHits),
                "misses": Self.number(tally.misses),
                "bypasses": Self.number(tally.bypasses),
                "errors": Self.number(tally.errors),
                "saved_tokens": Self.number(tally.savedTokens),
                "saved_cost_usd": Self.number(tally.savedCost),
            ])
        }
        return Self.json(.object([
            "by_route": .object(Dictionary(uniqueKeysWithValues: ProxyMetrics.Route.allCases.map { ($0.label, tally(snapshot.routes[$0.rawValue])) })),
            "by_model": .object(snapshot.models.mapValues(tally)),
        ]))
    }

    func semanticHits(query parameters: [String: String]) -> Response {
        var limit = 20
        if let text = parameters["limit"] {
            guard let number = Int(text), number >= 0 else {
                return OpenAIErrorBody.response(.badRequest, message: "limit must be a whole number from 0 to \(RecentSemanticHits.capacity), got \(text)", param: "limit")
            }
            limit = min(number, RecentSemanticHits.capacity)
        }
        return Self.json(.object([
            "hits": .array(metrics.history.semanticHits(limit: limit).map { dated in
                .object([
                    "at": Self.number(Int(dated.at)),
                    "route": .string(dated.hit.route.label),
                    "model": .string(dated.hit.model),
                    // As the X-Cache-Similarity header shows it.
                    "similarity": Double(String(format: "%.4f", dated.hit.similarity)).map(Self.number) ?? .null,
                    "key": .string(dated.hit.key.hex),
                    "text": .string(dated.hit.text),
                ])
            }),
        ]))
    }

    func invalidate(_ body: ByteBuffer) async -> Response {
        let selector: InvalidationSelector
        do {
            selector = try invalidationSelector(body)
        } catch let error as ProxyRequestError {
            return OpenAIErrorBody.response(error)
        } catch {
            return OpenAIErrorBody.response(.badRequest, message: "\(error)")
        }
        do {
            let count = try await cache.invalidate(selector)
            server.logger.notice("invalidated entries", metadata: ["selector": "\(selector)", "count": "\(count)"])
            return Self.json(.object(["invalidated": Self.number(count), "selector": .string(selector.description)]))
        } catch {
            return OpenAIErrorBody.response(.serviceUnavailable, message: "the store could not invalidate (\(error)); stale answers may remain, retry", type: "server_error")
        }
    }

    func incorrectHit(_ body: ByteBuffer) async -> Response {
        guard let value = try? JSONValue(parsing: body.readableBytesView), case .object(let fields) = value,
              fields.count == 1, let hex = fields["key"]?.stringValue, let key = CacheKey(hex: hex) else {
            return OpenAIErrorBody.response(.badRequest, message: "send {\"key\": \"<hex>\"}: the X-Cache-Key header (64 hex digits) of the SEMANTIC-HIT that was wrong", param: "key")
        }
        guard cache.semantic != nil else {
            return OpenAIErrorBody.response(.conflict, message: "this proxy serves exact matches only (started with --semantic off), so it serves no semantic hits to report", param: "key")
        }
        do {
            try await cache.reportIncorrectHit(matched: key)
            server.logger.notice("semantic hit reported incorrect", metadata: ["key": "\(key)"])
            return Self.json(.object(["reported": .string(key.hex)]))
        } catch {
            return OpenAIErrorBody.response(.serviceUnavailable, message: "the store could not be updated (\(error)); retry", type: "server_error")
        }
    }

    func invalidationSelector(_ body: ByteBuffer) throws -> InvalidationSelector {
        let usage = "send one selector: {\"key\": \"<hex>\"}, {\"tag\": \"t\"}, {\"model\": \"glob\"[, \"namespace\": \"glob\"]}, {\"namespace\": \"name\"}, {\"api_key\": \"sk-...\"}, {\"older_than_seconds\": N} or {\"all\": true}"
        guard let value = try? JSONValue(parsing: body.readableBytesView), case .object(let fields) = value, !fields.isEmpty else {
            throw ProxyRequestError("the body must be a JSON object; \(usage)", param: nil)
        }
        func string(_ name: String) throws -> String {
            guard let text = fields[name]?.stringValue, !text.isEmpty else { throw ProxyRequestError("\(name) must be a non-empty string", param: name) }
            return text
        }
        func glob(_ name: String) throws -> GlobPattern {
            do { return try GlobPattern(try string(name)) } catch let error as CacheError {
                throw ProxyRequestError("\(name): \(error.message)", param: name)
            }
        }
        let names = Set(fields.keys)
        if names == ["model"] || names == ["model", "namespace"] {
            return .pattern(model: try glob("model"), namespace: names.contains("namespace") ? try glob("namespace") : nil)
        }
        guard names.count == 1, let name = names.first else {
            throw ProxyRequestError("more than one selector (\(names.sorted().joined(separator: ", "))); \(usage)", param: nil)
        }
        switch name {
        case "key":
            guard let key = CacheKey(hex: try string("key")) else { throw ProxyRequestError("key must be 64 hex digits, as in the X-Cache-Key header", param: "key") }
            return .key(key)
        case "tag": return .tag(try string("tag"))
        case "namespace": return .namespace(try string("namespace"))
        case "api_key": return .namespace(server.tenants.namespace(forAPIKey: try string("api_key")))
        case "older_than_seconds":
            guard let seconds = fields[name]?.numberValue?.doubleValue, seconds >= 0, seconds.isFinite else {
                throw ProxyRequestError("older_than_seconds must be a non-negative number", param: name)
            }
            return .createdBefore(SystemCacheClock().now() - .milliseconds(Int64(seconds * 1000)))
        case "all":
            guard fields[name] == .bool(true) else { throw ProxyRequestError("all must be true", param: name) }
            return .all
        default:
            throw ProxyRequestError("unknown selector \(name); \(usage)", param: name)
        }
    }

    func warm(_ body: ByteBuffer, query parameters: [String: String]) async -> Response {
        let namespace: String
        if let name = parameters["namespace"], !name.isEmpty {
            namespace = name
        } else if let key = parameters["api_key"], !key.isEmpty {
            namespace = server.tenants.namespace(forAPIKey: key)
        } else if let shared = server.configuration.tenancy.sharedNamespace {
            namespace = shared
        } else {
            return OpenAIErrorBody.response(.badRequest, message: "name the tenant the answers are for: ?api_key=<the key its clients send> or ?namespace=<name>; entries are per credential unless the proxy runs with --shared-namespace", param: "namespace")
        }
        let records: [WarmRecord]
        do {
            records = try WarmRecord.parseFile(Data(body.readableBytesView))
        } catch let error as CacheError {
            return OpenAIErrorBody.response(.badRequest, message: error.message, param: error.field)
        } catch {
            return OpenAIErrorBody.response(.badRequest, message: "\(error)")
        }
        let report = await cache.warm(records, namespace: namespace)
        return Self.json(.object([
            "stored": Self.number(report.stored),
            "failed": .array(report.failed.map { .object(["line": Self.number($0.record), "error": .string($0.error.message)]) }),
            "namespace": .string(namespace),
        ]))
    }

    func export(query parameters: [String: String]) -> Response {
        let namespace = parameters["namespace"]
        let store = cache.store
        let logger = server.logger
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
            var buffer = ByteBuffer(bytes: CacheEntryJSONLines.headerLine())
            buffer.writeString("\n")
            do {
                for try await entry in store.entries() {
                    if let namespace, entry.namespace != namespace { continue }
                    buffer.writeBytes(try CacheEntryJSONLines.line(for: entry))
                    buffer.writeString("\n")
                    if buffer.readableBytes >= 1 << 16 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
            } catch {
                // The status is already sent: breaking the connection is the
                // only way to tell the client the export is incomplete.
                logger.error("export failed", metadata: ["error": "\(error)"])
                throw error
            }
            try await writer.write(buffer)
            try await writer.finish(nil)
        })
    }
}
