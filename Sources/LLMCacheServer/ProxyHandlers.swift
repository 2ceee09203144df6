import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import LLMCacheOpenAI
import NIOCore
import NIOHTTP1

/// The route handlers. A value holding only shared, thread-safe parts.
struct ProxyHandlers: Sendable {
    let server: ProxyServer
    let upstream: Upstream

    var cache: LLMCache { server.cache }
    var metrics: ProxyMetrics { server.metrics }

    static let xCache = HTTPField.Name("X-Cache")!
    static let xCacheKey = HTTPField.Name("X-Cache-Key")!
    static let xCacheSimilarity = HTTPField.Name("X-Cache-Similarity")!
    static let age = HTTPField.Name("Age")!

    // Whole fields made once: a field made per response checks its value
    // byte by byte.
    static let hitField = HTTPField(name: xCache, value: "HIT")
    static let semanticHitField = HTTPField(name: xCache, value: "SEMANTIC-HIT")
    static let missField = HTTPField(name: xCache, value: "MISS")
    static let bypassField = HTTPField(name: xCache, value: "BYPASS")
    static let jsonContentType = HTTPField(name: .contentType, value: "application/json")

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/chat/completions") { request, _ in await cached(request, route: .chat) }
        router.post("/v1/completions") { request, _ in await cached(request, route: .completions) }
        router.post("/v1/embeddings") { request, _ in await cached(request, route: .embeddings) }
        router.get("/v1/models") { request, _ in await passThrough(request, path: "/models") }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
        }
        router.get("/metrics") { _, _ in await metricsResponse() }
        registerAdmin(on: router)
    }

    // MARK: - Cached routes

    func cached(_ request: Request, route: ProxyMetrics.Route) async -> Response {
        let start = ContinuousClock.now
        let limit = server.configuration.maximumRequestBytes
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            metrics.record(route, .rejected, since: start)
            return OpenAIErrorBody.response(.contentTooLarge, message: "the request body is larger than the proxy's limit of \(limit) bytes; send a smaller request, or start the proxy with a larger --max-body-bytes")
        }
        let parsed: RequestMemo.Entry
        let controls: CacheControls
        do {
            parsed = try self.parsed(body, headers: request.headers)
            try Self.validate(parsed.request, route: route)
            controls = try CacheControls(headers: request.headers)
        } catch let error as CacheError {
            metrics.record(route, .rejected, since: start)
            return OpenAIErrorBody.response(.badRequest, message: error.message, param: error.field)
        } catch let error as ProxyRequestError {
            metrics.record(route, .rejected, since: start)
            return OpenAIErrorBody.response(error)
        } catch {
            metrics.record(route, .rejected, since: start)
            return OpenAIErrorBody.response(.badRequest, message: "the request could not be read: \(error)")
        }
        let llmRequest = parsed.request
        let namespace = parsed.namespace
        // Embeddings requests have no semantic scope (SemanticScope refuses an
        // `input`), so only chat and completions are ever matched by meaning.
        let options = controls.options(namespace: namespace, semantic: server.configuration.semantic)
        let streaming = route != .embeddings && llmRequest.isStreaming

        if controls.lookup, let hit = await cache.lookup(llmRequest, key: parsed.key, options: options) {
            switch hit.source {
            case .semanticHit(let similarity, let matched):
                return served(hit.value, outcome: .semanticHit, key: matched, age: hit.age, similarity: similarity, request: llmRequest, route: route, streaming: streaming, start: start)
            default:
                return served(hit.value, outcome: .hit, key: hit.key, age: hit.age, similarity: nil, request: llmRequest, route: route, streaming: streaming, start: start)
            }
        }

        // The lookup above counted the miss; the core must not look up again.
        var missOptions = options
        missOptions.lookup = false
        let outcome: ProxyMetrics.Outcome = controls.lookup || controls.store ? .miss : .bypass
        let miss = Miss(request: llmRequest, body: body, headers: request.headers, namespace: namespace, options: missOptions, route: route, outcome: outcome, start: start)
        if streaming { return await streamedMiss(miss) }
        do {
            let response = try await cache.response(for: llmRequest, options: missOptions) { [upstream, metrics] in
                let upstreamStart = ContinuousClock.now
                do {
                    let (_, answer) = try await upstream.collect(upstream.request(.POST, path: route.path, headers: miss.headers, body: body))
                    metrics.upstreamDuration.record(ContinuousClock.now - upstreamStart)
                    return Data(answer.readableBytesView)
                } catch {
                    metrics.upstreamErrors.increment()
                    throw error
                }
            }
            metrics.record(route, outcome, since: start)
            var headers = cacheHeaders(outcome: outcome, key: response.key, age: .zero, similarity: nil)
            headers.append(Self.jsonContentType)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.value)))
        } catch {
            return failure(error, route: route, start: start)
        }
    }

    /// The request in `body`, its tenant namespace and its key: remembered
    /// from an earlier request with the same bytes and credentials, or
    /// derived and remembered now.
    ///
    /// - Throws: ``CacheError`` when the body is not a valid request.
    func parsed(_ body: ByteBuffer, headers: HTTPFields) throws -> RequestMemo.Entry {
        let memo = server.requestMemo
        let credentials = RequestMemo.Credentials(headers)
        let slot = memo.slot(body: body, credentials: credentials)
        if let slot, let entry = memo.entry(at: slot, body: body, credentials: credentials) { return entry }
        let request = try LLMRequest(json: body.readableBytesView)
        let namespace = server.tenants.namespace(for: credentials)
        let entry = RequestMemo.Entry(
            body: Array(body.readableBytesView), credentials: credentials, request: request,
            namespace: namespace, key: cache.key(for: request, namespace: namespace)
        )
        if let slot { memo.insert(entry, at: slot) }
        return entry
    }

    /// One miss: what the computation needs to call the upstream and store.
    struct Miss: Sendable {
        var request: LLMRequest
        var body: ByteBuffer
        var headers: HTTPFields
        var namespace: String
        var options: LLMCache.Options
        var route: ProxyMetrics.Route
        var outcome: ProxyMetrics.Outcome
        var start: ContinuousClock.Instant
    }

    /// Serves a cached answer: as stored for a plain request (no re-encoding),
    /// or replayed as a stream of chunks for `"stream": true`.
    func served(
        _ value: Data, outcome: ProxyMetrics.Outcome, key: CacheKey, age: Duration, similarity: Float?,
        request: LLMRequest, route: ProxyMetrics.Route, streaming: Bool, start: ContinuousClock.Instant
    ) -> Response {
        if outcome == .hit || outcome == .semanticHit, let tokens = UsageScanner.tokens(in: value) {
            metrics.saved(prompt: tokens.prompt, completion: tokens.completion, cost: server.configuration.prices.cost(model: request.model, prompt: tokens.prompt, completion: tokens.completion))
        }
        var headers = cacheHeaders(outcome: outcome, key: key, age: age, similarity: similarity)
        if streaming, let stored = try? JSONValue(parsing: value),
           let events = server.configuration.replay.eventStream(of: stored, includeUsage: request.body["stream_options"]?["include_usage"] == .bool(true)) {
            headers.append(HTTPField(name: .contentType, value: "text/event-stream"))
            headers.append(HTTPField(name: .cacheControl, value: "no-cache"))
            metrics.record(route, outcome, since: start)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: events)))
        }
        headers.append(Self.jsonContentType)
        metrics.record(route, outcome, since: start)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value)))
    }

    func cacheHeaders(outcome: ProxyMetrics.Outcome, key: CacheKey, age: Duration, similarity: Float?) -> HTTPFields {
        // Appended, not assigned: none is present yet, and assigning looks
        // each name up first.
        var headers = HTTPFields()
        headers.reserveCapacity(similarity == nil ? 4 : 5)
        switch outcome {
        case .hit: headers.append(Self.hitField)
        case .semanticHit: headers.append(Self.semanticHitField)
        case .bypass: headers.append(Self.bypassField)
        default: headers.append(Self.missField)
        }
        headers.append(HTTPField(name: Self.xCacheKey, value: key.hex))
        headers.append(HTTPField(name: Self.age, value: String(max(0, age.components.seconds))))
        if let similarity { headers.append(HTTPField(name: Self.xCacheSimilarity, value: String(format: "%.4f", similarity))) }
        return headers
    }

    /// The route-specific field every request of the route needs.
    static func validate(_ request: LLMRequest, route: ProxyMetrics.Route) throws {
        switch route {
        case .chat:
            guard request.typeName(ofMember: "messages") != nil else {
                throw CacheError(.invalidRequest, "messages is required: an array of {\"role\": ..., \"content\": ...} objects", field: "messages")
            }
        case .completions:
            guard let prompt = request.typeName(ofMember: "prompt"), prompt != "null" else {
                throw CacheError(.invalidRequest, "prompt is required: a string or an array of strings", field: "prompt")
            }
        case .embeddings:
            guard let input = request.typeName(ofMember: "input") else {
                throw CacheError(.invalidRequest, "input is required: a string or an array of strings", field: "input")
            }
            guard input == "string" || input == "array" else {
                throw CacheError(.invalidRequest, "input must be a string or an array, got \(input)", field: "input")
            }
        }
    }

    /// The answer to a failed miss: upstream errors unchanged, others as
    /// OpenAI-style errors (502 unreachable, 504 time-out).
    func failure(_ error: any Error, route: ProxyMetrics.Route, start: ContinuousClock.Instant) -> Response {
        metrics.record(route, .upstreamError, since: start)
        var headers = HTTPFields()
        headers[Self.xCache] = "MISS"
        switch error {
        case let failure as UpstreamFailure:
            headers[.contentType] = failure.contentType ?? "application/json"
            return Response(status: HTTPResponse.Status(code: failure.status), headers: headers, body: ResponseBody(byteBuffer: failure.body))
        case let unavailable as UpstreamUnavailable:
            return OpenAIErrorBody.response(unavailable.timedOut ? .gatewayTimeout : .badGateway, message: unavailable.message, type: "upstream_error", headers: headers)
        case let incomplete as StreamIncomplete:
            return OpenAIErrorBody.response(.badGateway, message: incomplete.description, type: "upstream_error", headers: headers)
        default:
            server.logger.error("request failed", metadata: ["error": "\(error)"])
            return OpenAIErrorBody.response(.internalServerError, message: "the proxy failed: \(error)", type: "server_error", headers: headers)
        }
    }

    // MARK: - Pass-through and operations

    func passThrough(_ request: Request, path: String) async -> Response {
        do {
            let (headers, body) = try await upstream.collect(upstream.request(.GET, path: path, headers: request.headers, body: nil))
            return Response(status: .ok, headers: Upstream.relayedHeaders(headers), body: ResponseBody(byteBuffer: body))
        } catch let failure as UpstreamFailure {
            var headers = HTTPFields()
            headers[.contentType] = failure.contentType ?? "application/json"
            return Response(status: HTTPResponse.Status(code: failure.status), headers: headers, body: ResponseBody(byteBuffer: failure.body))
        } catch let unavailable as UpstreamUnavailable {
            return OpenAIErrorBody.response(unavailable.timedOut ? .gatewayTimeout : .badGateway, message: unavailable.message, type: "upstream_error")
        } catch {
            return OpenAIErrorBody.response(.badGateway, message: "\(error)", type: "upstream_error")
        }
    }

    func metricsResponse() async -> Response {
        // Refreshes the entry and byte gauges from the store.
        _ = await cache.statistics()
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: server.registry.emitToBuffer())))
    }
}

extension ProxyMetrics.Route {
    /// The upstream path, relative to the upstream base URL.
    var path: String {
        switch self {
        case .chat: return "/chat/completions"
        case .completions: return "/completions"
        case .embeddings: return "/embeddings"
        }
    }
}
