import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Forwards requests to an upstream API over async-http-client, passing the
/// caller's credentials and the provider's headers through: one value for
/// the OpenAI-compatible upstream, one for Anthropic's, sharing a client.
/// Thread-safe.
struct Upstream: Sendable {
    let client: HTTPClient
    let configuration: ProxyServer.Configuration.Upstream
    let logger: Logger
    let baseURL: String
    /// What the calls so far showed of the upstream's reachability, for `GET /readyz`.
    let health = UpstreamHealth()
    /// Calls in flight to this upstream, and the callers waiting for one.
    let gate: UpstreamGate

    /// - Parameter baseURL: the root paths are appended to; default the
    ///   configuration's OpenAI-compatible ``ProxyServer/Configuration/Upstream/baseURL``.
    init(client: HTTPClient, configuration: ProxyServer.Configuration.Upstream, baseURL: String? = nil, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        var base = baseURL ?? configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        gate = UpstreamGate(limit: configuration.maximumConnections, queueLimit: configuration.queueLength, queueTimeout: configuration.queueTimeout)
    }

    /// The Anthropic upstream of `configuration`: its root without a
    /// trailing `/v1`, since Anthropic's routes (and the proxy's) carry it.
    static func anthropic(client: HTTPClient, configuration: ProxyServer.Configuration.Upstream, logger: Logger) -> Upstream {
        var base = configuration.anthropicBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        return Upstream(client: client, configuration: configuration, baseURL: base, logger: logger)
    }

    static func makeClient(_ configuration: ProxyServer.Configuration.Upstream) -> HTTPClient {
        var http = HTTPClient.Configuration()
        http.timeout = .init(connect: .nanoseconds(configuration.connectTimeout.nanoseconds), read: nil)
        // The gate keeps calls to at most maximumConnections per upstream,
        // so the client never queues one itself (where it failed with the
        // connect time-out).
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConnections)
        // A refused connection or an unknown host fails the request at once
        // instead of being retried until the connect time-out: the caller
        // learns in milliseconds that the upstream is down. Silence (a host
        // that does not answer) still waits for the connect time-out.
        http.connectionPool.retryConnectionEstablishment = false
        // Bodies are relayed and stored as the upstream sent them: compressed
        // bodies would have to be decoded to assemble streams and count tokens.
        http.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Request headers never forwarded: hop-by-hop headers, the ones the
    /// client sets itself, compression (the proxy must read the body), and the
    /// proxy's own cache controls (`Cache-Control` and every `X-Cache-*`),
    /// which mean nothing to the upstream.
    static let dropped: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "host", "content-length", "accept-encoding", "cache-control", "expect",
    ]

    static func isForwarded(_ name: HTTPField.Name) -> Bool {
        let canonical = name.canonicalName
        return !dropped.contains(canonical) && !canonical.hasPrefix("x-cache-")
    }

    func request(_ method: NIOHTTP1.HTTPMethod, path: String, headers: HTTPFields, body: ByteBuffer?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for field in headers where Self.isForwarded(field.name) {
            request.headers.add(name: field.name.rawName, value: field.value)
        }
        if let body {
            if !request.headers.contains(name: "content-type") { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(body)
        }
        return request
    }

    /// Sends a request, once the ``gate`` lets it, and returns the response
    /// with its body still arriving, and the call's slot: give it back once
    /// the body is read (``PermitHoldingSequence`` does), or drop it.
    func execute(_ request: HTTPClientRequest) async throws -> (HTTPClientResponse, UpstreamGate.Permit) {
        let permit = try await gate.acquire()
        do {
            let response = try await client.execute(request, deadline: .now() + .nanoseconds(configuration.requestTimeout.nanoseconds), logger: logger)
            health.reached()
            return (response, permit)
        } catch {
            if Self.isConnectFailure(error) { health.failedToConnect("\(error)") }
            throw Self.unavailable(error)
        }
    }

    /// Whether `error`, thrown before a response head arrived, means the
    /// upstream could not be reached: a connect time-out, a refused or reset
    /// connection, an unknown host. Not a request time-out (a slow model) and
    /// not a cancelled call (the client went away).
    static func isConnectFailure(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        guard let http = error as? HTTPClientError else { return true }
        return http == .connectTimeout || http == .remoteConnectionClosed
    }

    /// Sends a request and collects the whole answer within the request
    /// time-out (async-http-client's deadline ends with the response head); a
    /// non-2xx answer throws ``UpstreamFailure``.
    func collect(_ request: HTTPClientRequest) async throws -> UpstreamAnswer {
        let (response, permit) = try await execute(request)
        defer { permit.release() }
        // The time-out runs from the call, not from joining the queue.
        let deadline = ContinuousClock.now + configuration.requestTimeout
        let limit = configuration.maximumResponseBytes
        let body: ByteBuffer
        do {
            body = try await Self.within(deadline) { try await response.body.collect(upTo: limit) }
        } catch {
            throw Self.unavailable(error)
        }
        let answer = UpstreamAnswer(status: Int(response.status.code), headers: response.headers, body: body)
        guard (200..<300).contains(response.status.code) else { throw UpstreamFailure(answer) }
        return answer
    }

    /// `body`'s result, or ``UpstreamUnavailable`` (timed out) once
    /// `deadline` has passed; `body` is then cancelled.
    static func within<T: Sendable>(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw UpstreamUnavailable(message: "the upstream did not finish its answer within the upstream time-out; retry, or raise --upstream-timeout", timedOut: true)
            }
            return value
        }
    }

    static func unavailable(_ error: any Error) -> any Error {
        if error is CancellationError || error is UpstreamFailure || error is UpstreamUnavailable || error is UpstreamBusy { return error }
        if let http = error as? HTTPClientError {
            if http == .deadlineExceeded || http == .readTimeout || http == .connectTimeout {
                return UpstreamUnavailable(message: "the upstream did not answer in time (\(http)); retry, or raise the upstream time-out", timedOut: true)
            }
        }
        if error is NIOTooManyBytesError {
            return UpstreamUnavailable(message: "the upstream's answer is larger than the proxy accepts; raise the upstream response limit", timedOut: false)
        }
        return UpstreamUnavailable(message: "the upstream could not be reached or broke off (\(error)); check the upstream URL and that it is up", timedOut: false)
    }

    static let requestIDField = HTTPField.Name("x-request-id")!

    /// Response headers never relayed: hop-by-hop headers and the ones the
    /// proxy's HTTP server sets itself.
    static let notRelayed: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "te", "trailer", "transfer-encoding",
        "upgrade", "content-length", "date", "server",
    ]

    /// The upstream's response headers as the caller gets them: all of them
    /// (`Retry-After`, `x-request-id`, `x-ratelimit-*`, `openai-*`, the content
    /// type...) except hop-by-hop ones.
    static func relayedHeaders(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count)
        for (name, value) in headers where !notRelayed.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }
}

/// A whole upstream answer: status, headers and body.
struct UpstreamAnswer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer

    var contentType: String? { headers.first(name: "content-type") }
    /// OpenAI's `x-request-id` or Anthropic's `request-id`.
    var requestID: String? { headers.first(name: "x-request-id") ?? headers.first(name: "request-id") }
}
