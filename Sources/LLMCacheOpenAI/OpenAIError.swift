import LLMCache

/// An error from ``OpenAIClient``: what went wrong, and for answers the
/// provider refused, the upstream status and body unchanged.
///
/// A struct wrapping a private code, so new kinds can be added without
/// breaking code that matches on the existing ones (`error.code == .status`).
public struct OpenAIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error, compared with `==` against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case status, transport, timeout, decoding, incompleteStream, invalidRequest
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The provider answered with a non-2xx status: see ``OpenAIError/status`` and ``OpenAIError/body``.
        public static let status = Code(.status)
        /// The connection failed or broke.
        public static let transport = Code(.transport)
        /// No complete answer within the configured time-out.
        public static let timeout = Code(.timeout)
        /// The answer is not the JSON the call expects.
        public static let decoding = Code(.decoding)
        /// A stream ended without `[DONE]`, or with an error event.
        public static let incompleteStream = Code(.incompleteStream)
        /// The request could not be encoded (e.g. a non-finite number).
        public static let invalidRequest = Code(.invalidRequest)

        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public let code: Code
    /// What was wrong and what to do.
    public let message: String
    /// The upstream HTTP status, for ``Code/status``.
    public let status: Int?
    /// The upstream body as sent, for ``Code/status``.
    public let body: [UInt8]?

    public init(_ code: Code, _ message: String, status: Int? = nil, body: [UInt8]? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.body = body
    }

    /// An error for a non-2xx answer, with the provider's own message when its
    /// body has the usual `{"error": {"message": ...}}` shape.
    static func upstream(status: Int, body: [UInt8]) -> OpenAIError {
        let detail = (try? JSONValue(parsing: body))?["error"]?["message"]?.stringValue
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        let hint: String
        switch status {
        case 401, 403: hint = "check the API key"
        case 404: hint = "check the model name and the base URL"
        case 429: hint = "the provider is rate limiting: retry later or lower the request rate"
        case 500...: hint = "the provider failed; retry later"
        default: hint = "fix the request"
        }
        return OpenAIError(.status, "the provider answered \(status): \(detail) (\(hint))", status: status, body: body)
    }

    public var description: String {
        if let status { return "\(code) \(status): \(message)" }
        return "\(code): \(message)"
    }
}
