import HTTPTypes
import Hummingbird
import LLMCache
import LLMCacheOpenAI
import NIOCore

/// An error a proxy route answers with: a Hummingbird `HTTPResponseError`
/// whose response is in the route's error shape, OpenAI's or Anthropic's
/// (or the upstream's own), and
/// the outcome the route's metrics record for it.
protocol ProxyError: HTTPResponseError, Sendable {
    var outcome: ProxyMetrics.Outcome { get }
}

/// Any error of a cached route as a ``ProxyError``: request errors stay
/// 400s, an incomplete shared stream is a 502, anything unforeseen a 500
/// that says what failed.
func proxyError(_ error: any Error) -> any ProxyError {
    switch error {
    case let error as any ProxyError: return error
    case let error as CacheError where error.code == .invalidRequest: return ProxyRequestError(error.message, param: error.field)
    case let error as IncompleteStream: return UpstreamUnavailable(message: error.description, timedOut: false)
    default: return InternalProxyError(underlying: error)
    }
}

/// A request the proxy refuses before it reaches the cache or the upstream:
/// answered with an OpenAI-style error body naming the parameter at fault.
struct ProxyRequestError: ProxyError {
    var message: String
    var param: String?
    var status: HTTPResponse.Status

    init(_ message: String, param: String?, status: HTTPResponse.Status = .badRequest) {
        self.message = message
        self.param = param
        self.status = status
    }

    var outcome: ProxyMetrics.Outcome { .rejected }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        OpenAIErrorBody.response(status, message: message, param: param, surface: .of(request))
    }
}

/// An upstream answer that is not stored: an error status, or a 2xx whose
/// body is not the route's response object (an HTML page from a gateway, an
/// error object sent with 200). Returned to the caller with the upstream's
/// status, headers and body unchanged, and never cached.
struct UpstreamFailure: ProxyError {
    var answer: UpstreamAnswer
    var status: HTTPResponse.Status { HTTPResponse.Status(code: answer.status) }

    init(_ answer: UpstreamAnswer) {
        self.answer = answer
    }

    var outcome: ProxyMetrics.Outcome { .upstreamError }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields([ProxyHandlers.missField])
        headers.append(contentsOf: Upstream.relayedHeaders(answer.headers))
        if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: answer.body))
    }
}

/// The upstream could not be reached, timed out, or broke off a stream:
/// 504 for a time-out, 502 otherwise.
struct UpstreamUnavailable: ProxyError, CustomStringConvertible {
    var message: String
    var timedOut: Bool
    var description: String { message }

    var status: HTTPResponse.Status { timedOut ? .gatewayTimeout : .badGateway }
    var outcome: ProxyMetrics.Outcome { .upstreamError }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        OpenAIErrorBody.response(status, message: message, type: "upstream_error", headers: HTTPFields([ProxyHandlers.missField]), surface: .of(request))
    }
}

/// A failure of the proxy itself: a 500 that says what failed.
struct InternalProxyError: ProxyError {
    var underlying: any Error

    var status: HTTPResponse.Status { .internalServerError }
    var outcome: ProxyMetrics.Outcome { .upstreamError }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        OpenAIErrorBody.response(status, message: "the proxy failed: \(underlying)", type: "server_error", headers: HTTPFields([ProxyHandlers.missField]), surface: .of(request))
    }
}

/// The upstream is healthy but every slot to it is taken
/// (``UpstreamGate``): the queue was full, or the caller waited its
/// longest. 503 with `Retry-After`, so clients back off and retry (the
/// OpenAI and Anthropic SDKs retry a 503 by themselves).
struct UpstreamBusy: ProxyError, CustomStringConvertible, Equatable {
    enum Reason: Sendable, Equatable {
        case queueFull
        case waitedTooLong(Duration)
    }

    var reason: Reason

    var status: HTTPResponse.Status { .serviceUnavailable }
    var outcome: ProxyMetrics.Outcome { .upstreamError }

    var description: String {
        switch reason {
        case .queueFull:
            return "the proxy has as many upstream calls in flight and waiting as it allows; retry shortly, or raise --upstream-connections or --upstream-queue"
        case .waitedTooLong(let wait):
            return "no upstream connection came free within \(wait) (every one is in use by a call in progress); retry shortly, or raise --upstream-connections or --upstream-queue-timeout"
        }
    }

    /// Seconds a client should wait: a moment when the queue is full, since
    /// slots come free all the time; longer after a wait ran out.
    var retryAfterSeconds: Int {
        switch reason {
        case .queueFull: return 1
        case .waitedTooLong: return 5
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        response(to: request, headers: HTTPFields([ProxyHandlers.missField]))
    }

    /// The 503 in the error shape of `request`'s API, with `Retry-After` and `headers`.
    func response(to request: Request, headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.retryAfter] = String(retryAfterSeconds)
        return OpenAIErrorBody.response(status, message: description, type: "upstream_busy", headers: headers, surface: .of(request))
    }
}
