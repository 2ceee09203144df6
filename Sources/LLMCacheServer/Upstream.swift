import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// Forwards requests to the upstream API over async-http-client, passing the
/// caller's credentials and OpenAI headers through. Thread-safe.
struct Upstream: Sendable {
    let client: HTTPClient
    let configuration: ProxyServer.Configuration.Upstream
    let logger: Logger
    let baseURL: String

    init(client: HTTPClient, configuration: ProxyServer.Configuration.Upstream, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
    }

    static func makeClient(_ configuration: ProxyServer.Configuration.Upstream) -> HTTPClient {
        var http = HTTPClient.Configuration()
        http.timeout = .init(connect: .nanoseconds(configuration.connectTimeout.nanoseconds), read: nil)
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConnections)
        // Bodies are relayed and stored as the upstream sent them: compressed
        // bodies would have to be decoded to assemble streams and count tokens.
        http.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    /// Headers never forwarded: hop-by-hop headers, the ones the client sets
    /// itself, compression (the proxy must read the body), and the proxy's own
    /// cache controls, which mean nothing to the upstream.
    static let dropped: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "host", "content-length", "accept-encoding", "cache-control", "x-cache-ttl", "x-cache-tags",
        "x-cache-semantic", "expect",
    ]

    func request(_ method: NIOHTTP1.HTTPMethod, path: String, headers: HTTPFields, body: ByteBuffer?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for field in headers where !Self.dropped.contains(field.name.canonicalName) {
            request.headers.add(name: field.name.rawName, value: field.value)
        }
        if let body {
            if !request.headers.contains(name: "content-type") { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(body)
        }
        return request
    }

    /// Sends a request and returns the response with its body still arriving.
    func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await client.execute(request, deadline: .now() + .nanoseconds(configuration.requestTimeout.nanoseconds), logger: logger)
        } catch {
            throw Self.unavailable(error)
        }
    }

    /// Sends a request and collects the whole answer; a non-2xx answer throws
    /// ``UpstreamFailure``.
    func collect(_ request: HTTPClientRequest) async throws -> (HTTPHeaders, ByteBuffer) {
        let response = try await execute(request)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: configuration.maximumResponseBytes)
        } catch {
            throw Self.unavailable(error)
        }
        guard (200..<300).contains(response.status.code) else {
            throw UpstreamFailure(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), body: body)
        }
        return (response.headers, body)
    }

    static func unavailable(_ error: any Error) -> any Error {
        if error is CancellationError || error is UpstreamFailure || error is UpstreamUnavailable { return error }
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

    /// Upstream response headers worth returning to the caller on a miss.
    static func relayedHeaders(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower == "content-type" || lower == "x-request-id" || lower.hasPrefix("openai-") || lower.hasPrefix("x-ratelimit-") {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
        }
        return fields
    }
}
