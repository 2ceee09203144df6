import HTTPTypes
import Hummingbird
import LLMCache

/// Responses in the shape the caller's API and SDK use for errors, so an SDK
/// reports the proxy's message rather than a parse failure: OpenAI's
/// `{"error": {"message": ..., "type": ..., "param": ..., "code": null}}`, or
/// on Anthropic's routes `{"type": "error", "error": {"type": ..., "message": ...}}`.
enum OpenAIErrorBody {
    /// Whose error shape a response takes.
    enum Surface: Sendable {
        case openAI, anthropic

        /// Anthropic's for `/v1/messages...` and for any request carrying an
        /// `anthropic-version` header (Anthropic's SDKs send it on every
        /// call); OpenAI's otherwise.
        static func of(_ request: Request) -> Surface {
            if request.uri.path.hasPrefix("/v1/messages") || request.headers[ProxyMetrics.Route.anthropicVersion] != nil {
                return .anthropic
            }
            return .openAI
        }
    }

    static func response(
        _ status: HTTPResponse.Status,
        message: String,
        type: String = "invalid_request_error",
        param: String? = nil,
        headers: HTTPFields = HTTPFields(),
        surface: Surface = .openAI
    ) -> Response {
        let body: JSONValue
        switch surface {
        case .openAI:
            body = .object([
                "error": .object([
                    "message": .string(message),
                    "type": .string(type),
                    "param": param.map(JSONValue.string) ?? .null,
                    "code": .null,
                ])
            ])
        case .anthropic:
            // Anthropic's errors name no parameter; the message says which.
            let text = param.map { "\(message) (\($0))" } ?? message
            body = .object([
                "type": .string("error"),
                "error": .object(["type": .string(anthropicType(status, openAIType: type)), "message": .string(text)]),
            ])
        }
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }

    static func response(_ error: ProxyRequestError, surface: Surface = .openAI) -> Response {
        response(error.status, message: error.message, param: error.param, surface: surface)
    }

    /// The error type Anthropic documents for `status`.
    static func anthropicType(_ status: HTTPResponse.Status, openAIType: String) -> String {
        switch status.code {
        case 400, 405, 415, 422: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 504: return "timeout_error"
        case 529: return "overloaded_error"
        default: return openAIType == "invalid_request_error" ? "invalid_request_error" : "api_error"
        }
    }
}
