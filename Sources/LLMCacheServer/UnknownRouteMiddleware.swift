import HTTPTypes
import Hummingbird

/// Answers a request no route takes with a JSON error in OpenAI's shape that
/// names the routes served, instead of an empty 404 an SDK can only report
/// as "Error code: 404"; a cached route called with the wrong method gets a
/// 405 that says to use POST.
struct UnknownRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    static var routes: String {
        "POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses and /v1/messages (cached); any other /v1/... route (passed through to the upstream); GET /healthz, /readyz, /metrics, /dashboard and /admin/... (see docs/PROXY.md)"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let path = request.uri.path
            if ProxyMetrics.Route.allCases.contains(where: { $0.proxyPath == path }) {
                var headers = HTTPFields()
                headers[.allow] = "POST"
                return OpenAIErrorBody.response(
                    .methodNotAllowed, message: "\(request.method) \(path) is not served: use POST", headers: headers, surface: .of(request)
                )
            }
            return OpenAIErrorBody.response(
                .notFound, message: "no route \(request.method) \(path) on this proxy; it serves \(Self.routes). Point your client's base URL at http://<proxy>/v1 (Anthropic clients: http://<proxy>)", type: "invalid_request_error", surface: .of(request)
            )
        }
    }
}
