import HTTPTypes
import Hummingbird
import LLMCache

/// Responses in the shape OpenAI's API and SDKs use for errors:
/// `{"error": {"message": ..., "type": ..., "param": ..., "code": null}}`.
enum OpenAIErrorBody {
    static func response(
        _ status: HTTPResponse.Status,
        message: String,
        type: String = "invalid_request_error",
        param: String? = nil,
        headers: HTTPFields = HTTPFields()
    ) -> Response {
        let body: JSONValue = .object([
            "error": .object([
                "message": .string(message),
                "type": .string(type),
                "param": param.map(JSONValue.string) ?? .null,
                "code": .null,
            ])
        ])
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.jsonBytes)))
    }

    static func response(_ error: ProxyRequestError) -> Response {
        response(error.status, message: error.message, param: error.param)
    }
}
