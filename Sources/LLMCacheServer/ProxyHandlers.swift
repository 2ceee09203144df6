import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import LLMCacheAnthropic
import LLMCacheOpenAI
import NIOCore
import NIOHTTP1
import Synchronization

/// The route handlers. A value holding only shared, thread-safe parts.
struct ProxyHandlers: Sendable {
    let server: ProxyServer
    /// The OpenAI-compatible upstream.
    let upstream: Upstream
    /// Anthropic's API: `/v1/messages` and every request that carries an
    /// `anthropic-version` header.
    let anthropic: Upstream

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
        // First, so that it sees the requests no route takes.
        router.add(middleware: UnknownRouteMiddleware())
        for route in ProxyMetrics.Route.allCases {
            router.post(RouterPath(route.proxyPath)) { request, _ in try await recorded(route) { model in try await cached(request, route: route, model: &model) } }
        }
        // Everything else under /v1 (models, files, batches, moderations,
        // stored responses, count_tokens...) goes to its upstream untouched
        // and is not cached.
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/v1/**", method: method) { request, _ in await passThrough(request) }
        }
        // Liveness: the process answers. Always 200, whatever its dependencies
        // do: restarting a proxy whose Redis is down would not bring Redis back.
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: server.semanticReadiness.healthBody)))
        }
        router.get("/readyz") { _, _ in await readyz() }
        router.get("/metrics") { _, _ in await metricsResponse() }
        registerAdmin(on: router)
        registerDashboard(on: router)
    }

    /// A cached route's response and the outcome its metrics record.
    struct Answer: Sendable {
        var response: Response
        var outcome: ProxyMetrics.Outcome
        /// For a relayed stream: the outcome once the stream has ended, which
        /// only then is known (an interrupted stream is an upstream error).
        var settled: (@Sendable () async -> ProxyMetrics.Outcome)?
        /// What the dashboard's history records beside the outcome: what a
        /// hit saved, a semantic hit's match.
        var facts = ProxyHistory.Facts()
    }

    /// Runs a cached route and records its metrics, the one place that does:
    /// when the response is ready, or for a relayed stream when its body has
    /// been written. Errors are thrown as ``ProxyError``s, which Hummingbird
    /// renders. `handle` sets the request's model once it has read it.
    func recorded(_ route: ProxyMetrics.Route, _ handle: (_ model: inout String?) async throws -> Answer) async throws -> Response {
        let start = ContinuousClock.now
        var model: String?
        var answer: Answer
        do {
            answer = try await handle(&model)
        } catch {
            let failure = proxyError(error)
            logFailure(failure, route: route)
            metrics.record(route, failure.outcome, since: start, ProxyHistory.Facts(model: model))
            throw failure
        }
        answer.facts.model = model
        let facts = answer.facts
        guard let settled = answer.settled else {
            metrics.record(route, answer.outcome, since: start, facts)
            return answer.response
        }
        var response = answer.response
        let body = response.body
        let metrics = self.metrics
        let failures = server.failures
        response.body = ResponseBody { writer in
            do {
                try await body.write(writer)
            } catch {
                failures.record("a relayed stream broke off", route: route.label, status: nil, upstreamRequestID: nil, detail: "\(error)")
                metrics.record(route, .upstreamError, since: start, facts)
                throw error
            }
            metrics.record(route, await settled(), since: start, facts)
        }
        return response
    }

    /// One rate-limited log line for a failed request (docs/PROXY.md, "Logs").
    func logFailure(_ failure: any ProxyError, route: ProxyMetrics.Route) {
        switch failure {
        case let failure as UpstreamFailure:
            let valid = (200..<300).contains(failure.answer.status)
            server.failures.record(
                valid ? "the upstream's answer is not a valid response; relayed, not cached" : "the upstream answered an error",
                route: route.label, status: failure.answer.status, upstreamRequestID: failure.answer.requestID,
                detail: valid ? "content type \(failure.answer.contentType ?? "none")" : nil
            )
        case let failure as UpstreamBusy:
            server.failures.record("every upstream slot is taken", route: route.label, status: Int(failure.status.code), upstreamRequestID: nil, detail: failure.description)
        case let failure as UpstreamUnavailable:
            server.failures.record(failure.timedOut ? "the upstream timed out" : "the upstream could not be reached", route: route.label, status: Int(failure.status.code), upstreamRequestID: nil, detail: failure.message)
        case let failure as InternalProxyError:
            server.logger.error("request failed", metadata: ["route": "\(route.label)", "error": "\(failure.underlying)"])
        default:
            break
        }
    }

    // MARK: - Cached routes

    /// `model`: set to the request's model once the body is read.
    func cached(_ request: Request, route: ProxyMetrics.Route, model: inout String?) async throws -> Answer {
        let limit = server.configuration.maximumRequestBytes
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw ProxyRequestError("the request body is larger than the proxy's limit of \(limit) bytes; send a smaller request, or start the proxy with a larger --max-body-bytes", param: nil, status: .contentTooLarge)
        }
        let parsed: RequestMemo.Entry
        var controls: CacheControls
        do {
            parsed = try self.parsed(body, headers: request.headers, route: route)
            model = parsed.request.model
            try Self.validate(parsed.request, route: route)
            controls = try CacheControls(headers: request.headers)
            if let object = parsed.cacheObject { try controls.apply(body: object) }
        } catch let error as CacheError {
            throw ProxyRequestError(error.message, param: error.field)
        } catch let error as ProxyRequestError {
            throw error
        } catch {
            throw ProxyRequestError("the request could not be read: \(error)", param: nil)
        }
        if Self.isStateful(parsed.request, route: route) { controls.bypass() }
        // Embeddings requests have no semantic scope (SemanticScope refuses
        // them), so only the generating routes are ever matched by meaning.
        let options = controls.options(namespace: parsed.namespace, semantic: server.configuration.semantic, semanticIndexReady: server.semanticReadiness.isReady)
        let call = UpstreamCall(route: route, headers: request.headers, body: parsed.forwardedBody ?? body)
        if route != .embeddings, parsed.request.isStreaming {
            switch route {
            case .chat, .completions, .embeddings:
                return try await streamed(parsed, call: call, options: options, as: StreamAssembler.self)
            case .responses:
                return try await streamed(parsed, call: call, options: options, as: ResponsesStreamAssembler.self)
            case .messages:
                return try await streamed(parsed, call: call, options: options, as: MessagesStreamAssembler.self)
            }
        }
        // The headers of the upstream's answer, when this request made the call.
        let relayed = Mutex<HTTPFields?>(nil)
        let target = self.upstream(for: route)
        let response = try await cache.response(for: parsed.request, key: parsed.key, options: options) { [metrics] computation in
            let upstreamStart = ContinuousClock.now
            let answer: UpstreamAnswer
            do {
                answer = try await target.collect(target.request(.POST, path: call.route.upstreamPath, headers: call.headers, body: call.body))
                metrics.upstreamDuration.record(ContinuousClock.now - upstreamStart)
            } catch {
                metrics.upstreamErrors.increment()
                throw error
            }
            // Only an answer of the route's shape is stored; anything else (a
            // gateway's HTML page, an error sent with 200) is relayed as it
            // came. A bypass stores nothing, so its answer is relayed whatever
            // it is (a background response is only a handle to one).
            guard computation.source == .bypass || Self.isAnswer(answer, of: call.route) else { throw UpstreamFailure(answer) }
            relayed.withLock { $0 = Upstream.relayedHeaders(answer.headers) }
            return Data(answer.body.readableBytesView)
        }
        return served(response, request: parsed.request, route: route, streaming: false, upstreamHeaders: relayed.withLock { $0 })
    }

    /// The upstream a route's misses go to.
    func upstream(for route: ProxyMetrics.Route) -> Upstream {
        route == .messages ? anthropic : upstream
    }

    /// Whether `request` changes or depends on state the upstream keeps,
    /// so its answer is no answer to the same request later: a Responses API
    /// request in a `conversation` (each call appends to it) or run in the
    /// `background` (the answer is a handle to a run still going). Such
    /// requests are passed through as `BYPASS`.
    static func isStateful(_ request: LLMRequest, route: ProxyMetrics.Route) -> Bool {
        guard route == .responses else { return false }
        if let conversation = request.typeName(ofMember: "conversation"), conversation != "null" { return true }
        return request.typeName(ofMember: "background") == "boolean" && request.body["background"] == .bool(true)
    }

    /// Whether `answer` is a response object of `route` that may be stored:
    /// a JSON object with no `error` and `choices` (chat, completions),
    /// `data` (embeddings), a finished Responses API `response` (status
    /// `completed` or `incomplete`, with its `output`), or an Anthropic
    /// `message` with its `content`.
    static func isAnswer(_ answer: UpstreamAnswer, of route: ProxyMetrics.Route) -> Bool {
        if let type = answer.contentType?.lowercased(), !type.contains("json") { return false }
        guard case .object(let fields)? = try? JSONValue(parsing: answer.body.readableBytesView) else { return false }
        if let error = fields["error"], error != .null { return false }
        switch route {
        case .chat, .completions: return fields["choices"]?.arrayValue != nil
        case .embeddings: return fields["data"]?.arrayValue != nil
        case .responses:
            guard fields["object"]?.stringValue == "response", fields["output"]?.arrayValue != nil else { return false }
            let status = fields["status"]?.stringValue
            return status == "completed" || status == "incomplete"
        case .messages:
            return fields["type"]?.stringValue == "message" && fields["content"]?.arrayValue != nil
        }
    }

    /// The request in `body`, its tenant namespace and its key: remembered
    /// from an earlier request with the same bytes, credentials and route, or
    /// derived and remembered now.
    ///
    /// A body-level `cache` object (LiteLLM's per-request controls) is taken
    /// out: it is neither part of the key nor sent upstream.
    ///
    /// - Throws: ``CacheError`` when the body is not a valid request,
    ///   ``ProxyRequestError`` when its `cache` object is not valid.
    func parsed(_ body: ByteBuffer, headers: HTTPFields, route: ProxyMetrics.Route) throws -> RequestMemo.Entry {
        let memo = server.requestMemo
        let credentials = RequestMemo.Credentials(headers)
        let endpoint = route.endpoint(headers)
        let slot = memo.slot(body: body, credentials: credentials, endpoint: endpoint)
        if let slot, let entry = memo.entry(at: slot, body: body, credentials: credentials, endpoint: endpoint) { return entry }
        var request = try LLMRequest(json: body.readableBytesView, endpoint: endpoint)
        var namespace = server.tenants.namespace(for: credentials)
        var cacheObject: JSONValue?
        var forwardedBody: ByteBuffer?
        if request.typeName(ofMember: "cache") != nil, case .object(var members) = request.body {
            let object = members.removeValue(forKey: "cache")!
            var probe = CacheControls()
            if let name = try probe.apply(body: object) { namespace += "/" + name }
            cacheObject = object
            let stripped = JSONValue.object(members)
            request = try LLMRequest(stripped, endpoint: endpoint)
            forwardedBody = ByteBuffer(bytes: stripped.jsonBytes)
        }
        let entry = RequestMemo.Entry(
            body: Array(body.readableBytesView), credentials: credentials, endpoint: endpoint, request: request,
            namespace: namespace, key: cache.key(for: request, namespace: namespace),
            cacheObject: cacheObject, forwardedBody: forwardedBody
        )
        if let slot { memo.insert(entry, at: slot) }
        return entry
    }

    /// What a miss sends the upstream.
    struct UpstreamCall: Sendable {
        var route: ProxyMetrics.Route
        var headers: HTTPFields
        var body: ByteBuffer
    }

    /// Serves an answer the core returned: as it is for a plain request (no
    /// re-encoding), or replayed as the route's stream of events for
    /// `"stream": true`. `upstreamHeaders`: on a miss this request computed,
    /// the upstream's response headers, relayed.
    func served(_ response: LLMCache.Response, request: LLMRequest, route: ProxyMetrics.Route, streaming: Bool, upstreamHeaders: HTTPFields? = nil) -> Answer {
        let outcome = ProxyMetrics.Outcome(response.source)
        var key = response.key
        var similarity: Float?
        if case .semanticHit(let matchedSimilarity, let matched) = response.source {
            key = matched
            similarity = matchedSimilarity
        }
        let value = response.value
        var facts = ProxyHistory.Facts()
        if let similarity {
            // Read only now: the last user text parses the body.
            facts.semanticHit = RecentSemanticHits.Hit(route: route, model: request.model, similarity: similarity, key: key, text: request.lastUserText)
        }
        if outcome == .hit || outcome == .semanticHit, let usage = UsageScanner.usage(in: value, route: route) {
            let cost = server.configuration.prices.cost(
                model: request.model, prompt: usage.prompt, cachedPrompt: usage.cachedPrompt,
                cacheWritePrompt: usage.cacheWritePrompt, completion: usage.completion
            )
            metrics.saved(route, usage: usage, cost: cost)
            facts.savedTokens = usage.prompt + usage.completion
            facts.savedCost = cost
        }
        var headers = cacheHeaders(outcome: outcome, key: key, age: response.age, similarity: similarity)
        if streaming, let stored = try? JSONValue(parsing: value), let events = replayed(stored, request: request, route: route) {
            headers.append(HTTPField(name: .contentType, value: "text/event-stream"))
            headers.append(HTTPField(name: .cacheControl, value: "no-cache"))
            return Answer(response: Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: events))), outcome: outcome, facts: facts)
        }
        if let upstreamHeaders {
            for field in upstreamHeaders where headers[field.name] == nil { headers.append(field) }
        }
        if upstreamHeaders?[.contentType] == nil { headers.append(Self.jsonContentType) }
        return Answer(response: Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: value))), outcome: outcome, facts: facts)
    }

    /// A stored answer as the events of the route's stream format, or `nil`
    /// when it is not an answer of that format.
    func replayed(_ stored: JSONValue, request: LLMRequest, route: ProxyMetrics.Route) -> [UInt8]? {
        let replay = server.configuration.replay
        switch route {
        case .chat, .completions, .embeddings:
            return replay.eventStream(of: stored, includeUsage: request.body["stream_options"]?["include_usage"] == .bool(true))
        case .responses:
            return ResponsesStreamReplay(pieceLength: replay.pieceLength).eventStream(of: stored)
        case .messages:
            return MessagesStreamReplay(pieceLength: replay.pieceLength).eventStream(of: stored)
        }
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
        case .responses, .messages:
            // Their schemas (RequestSchema.responsesFields, messagesFields)
            // already say what each requires.
            break
        }
    }

    // MARK: - Pass-through and operations

    /// A route the proxy does not cache, sent to its upstream as it came
    /// (method, path below `/v1`, query, headers, body) and answered as the
    /// upstream answered, streamed both ways. Anthropic's routes
    /// (`/v1/messages/...`, and any request with an `anthropic-version`
    /// header, as Anthropic's SDKs send on every call) go to the Anthropic
    /// upstream with their `/v1`; the rest to the OpenAI-compatible one.
    func passThrough(_ request: Request) async -> Response {
        var path = request.uri.path
        let target: Upstream
        if path.hasPrefix("/v1/messages/") || request.headers[ProxyMetrics.Route.anthropicVersion] != nil {
            target = anthropic
        } else {
            target = upstream
            if path.hasPrefix("/v1") { path.removeFirst(3) }
        }
        if let query = request.uri.query, !query.isEmpty { path += "?" + query }
        let method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        var upstreamRequest = target.request(method, path: path, headers: request.headers, body: nil)
        if method != .GET, method != .HEAD {
            let length = request.headers[.contentLength].flatMap { Int($0) }
            upstreamRequest.body = .stream(request.body, length: length.map { .known(Int64($0)) } ?? .unknown)
        }
        do {
            let (response, permit) = try await target.execute(upstreamRequest)
            return Response(
                status: HTTPResponse.Status(code: Int(response.status.code)),
                headers: Upstream.relayedHeaders(response.headers),
                body: ResponseBody(asyncSequence: PermitHoldingSequence(base: response.body, permit: permit))
            )
        } catch let busy as UpstreamBusy {
            server.failures.record("every upstream slot is taken", route: "passthrough", status: Int(busy.status.code), upstreamRequestID: nil, detail: busy.description)
            return busy.response(to: request)
        } catch let unavailable as UpstreamUnavailable {
            server.failures.record(unavailable.timedOut ? "the upstream timed out" : "the upstream could not be reached", route: "passthrough", status: Int(unavailable.status.code), upstreamRequestID: nil, detail: unavailable.message)
            return OpenAIErrorBody.response(unavailable.status, message: unavailable.message, type: "upstream_error", surface: .of(request))
        } catch {
            return OpenAIErrorBody.response(.badGateway, message: "\(error)", type: "upstream_error", surface: .of(request))
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

extension ProxyMetrics.Outcome {
    /// The outcome of an answer the core returned.
    init(_ source: LLMCache.Source) {
        switch source {
        case .hit: self = .hit
        case .semanticHit: self = .semanticHit
        case .miss: self = .miss
        case .bypass: self = .bypass
        }
    }
}

extension ProxyMetrics.Route {
    static let anthropicVersion = HTTPField.Name("anthropic-version")!
    static let anthropicBeta = HTTPField.Name("anthropic-beta")!

    /// The endpoint requests of this route are keyed under.
    var endpoint: LLMRequest.Endpoint {
        switch self {
        case .chat: return .chatCompletions
        case .completions: return .completions
        case .embeddings: return .embeddings
        case .responses: return .responses
        case .messages: return .anthropicMessages
        }
    }

    /// The endpoint of one request: for Anthropic's Messages API, with the
    /// API version its `anthropic-version` and `anthropic-beta` headers ask
    /// for (betas sorted, so their order does not matter), which can change
    /// the answer.
    func endpoint(_ headers: HTTPFields) -> LLMRequest.Endpoint {
        guard self == .messages else { return endpoint }
        var version = headers[Self.anthropicVersion] ?? ""
        let betas = headers[values: Self.anthropicBeta]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .sorted()
        if !betas.isEmpty { version += "; beta=" + betas.joined(separator: ",") }
        return endpoint.version(version)
    }

    /// Where the proxy serves this route.
    var proxyPath: String {
        self == .messages ? "/v1/messages" : "/v1" + endpoint.path
    }

    /// The path misses are sent to, relative to the route's upstream root:
    /// the OpenAI-compatible root includes its `/v1`, Anthropic's does not.
    var upstreamPath: String {
        self == .messages ? "/v1/messages" : endpoint.path
    }
}
