import LLMCache

/// An error in the shape Anthropic's API and SDKs use:
/// `{"type": "error", "error": {"type": T, "message": M}}`, with the
/// request's id as `request_id` when there is one.
///
/// For the errors a proxy of `/v1/messages` makes itself (a body that is not
/// JSON, a body too large, an upstream it cannot reach, a stream it had to
/// cut), so that an Anthropic SDK reports them as it reports Anthropic's own.
/// A value type; safe to share across tasks.
public struct AnthropicErrorBody: Hashable, Sendable {
    /// An error type of Anthropic's and the HTTP status Anthropic sends it with.
    public struct Kind: Hashable, Sendable {
        /// The `error.type` string, e.g. `invalid_request_error`.
        public var type: String
        /// The HTTP status Anthropic answers with for this type. The SDKs
        /// choose their exception by status, so send this one.
        public var status: Int

        public init(type: String, status: Int) {
            self.type = type
            self.status = status
        }

        /// 400: the request's format or content is wrong (e.g. not JSON).
        public static let invalidRequest = Kind(type: "invalid_request_error", status: 400)
        /// 401: the API key is missing or wrong.
        public static let authentication = Kind(type: "authentication_error", status: 401)
        /// 402: a billing problem.
        public static let billing = Kind(type: "billing_error", status: 402)
        /// 403: the key may not use this resource.
        public static let permission = Kind(type: "permission_error", status: 403)
        /// 404: no such resource.
        public static let notFound = Kind(type: "not_found_error", status: 404)
        /// 413: the request body is larger than allowed.
        public static let requestTooLarge = Kind(type: "request_too_large", status: 413)
        /// 429: a rate limit was reached.
        public static let rateLimit = Kind(type: "rate_limit_error", status: 429)
        /// 500: an unexpected error. A proxy that cannot reach its upstream
        /// may send this type with status 502 instead.
        public static let api = Kind(type: "api_error", status: 500)
        /// 504: the request timed out while processing.
        public static let timeout = Kind(type: "timeout_error", status: 504)
        /// 529: the API is temporarily overloaded.
        public static let overloaded = Kind(type: "overloaded_error", status: 529)
    }

    /// What went wrong, by Anthropic's types.
    public var kind: Kind
    /// A sentence for people: what was wrong and what to do.
    public var message: String
    /// The request's id (`request_id`), when there is one. Default `nil`.
    public var requestID: String?

    public init(kind: Kind, message: String, requestID: String? = nil) {
        self.kind = kind
        self.message = message
        self.requestID = requestID
    }

    /// Reads an error body Anthropic (or a proxy speaking its format) sent;
    /// `nil` if `bytes` are not one. The status is that of ``Kind`` for the
    /// types listed there, else 500.
    public init?(parsing bytes: some Collection<UInt8>) {
        guard let body = try? JSONValue(parsing: bytes), body["type"]?.stringValue == "error",
              let type = body["error"]?["type"]?.stringValue
        else { return nil }
        let known: [Kind] = [
            .invalidRequest, .authentication, .billing, .permission, .notFound,
            .requestTooLarge, .rateLimit, .api, .timeout, .overloaded,
        ]
        self.kind = known.first { $0.type == type } ?? Kind(type: type, status: 500)
        self.message = body["error"]?["message"]?.stringValue ?? ""
        self.requestID = body["request_id"]?.stringValue
    }

    /// The body as a JSON value.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "type": .string("error"),
            "error": .object(["type": .string(kind.type), "message": .string(message)]),
        ]
        if let requestID { object["request_id"] = .string(requestID) }
        return .object(object)
    }

    /// The body as compact JSON bytes, for an `application/json` response or
    /// the data of an `event: error` stream event.
    public var bytes: [UInt8] { json.jsonBytes }
}
