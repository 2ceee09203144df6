extension LLMRequest {
    /// The API a request body is sent to, as its path relative to the API
    /// root (`/chat/completions` for `https://api.openai.com/v1/chat/completions`,
    /// `/messages` for Anthropic's `https://api.anthropic.com/v1/messages`).
    ///
    /// Part of the request's key, except for chat completions, whose keys are
    /// the body's alone (so entries stored before endpoints were keyed, and
    /// warming files of chat requests, keep their keys). It also says which
    /// API's request format the body is read in: the Responses API and
    /// Anthropic's Messages API have their own fields (what is required, what
    /// never changes the answer, where the text matched by meaning is); every
    /// other endpoint is read as OpenAI's chat, completion and embedding bodies.
    public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
        /// The path relative to the API root, starting with `/`.
        public let path: String
        /// The version of the API the request asks for, when the API is
        /// versioned by a header rather than its path — Anthropic's
        /// `anthropic-version` and `anthropic-beta` headers, which can change
        /// the answer. Part of the key when set. Default `nil`.
        public let version: String?

        public init(path: String, version: String? = nil) {
            self.path = path
            self.version = version
        }

        /// Whether this is `other`'s API, whatever version each asks for.
        public func isAPI(_ other: Endpoint) -> Bool {
            path == other.path
        }

        /// This endpoint asking for API version `version`.
        public func version(_ version: String?) -> Endpoint {
            Endpoint(path: path, version: version)
        }

        /// `POST /chat/completions`.
        public static let chatCompletions = Endpoint(path: "/chat/completions")
        /// `POST /completions`, legacy text completions.
        public static let completions = Endpoint(path: "/completions")
        /// `POST /embeddings`.
        public static let embeddings = Endpoint(path: "/embeddings")
        /// `POST /responses`, OpenAI's Responses API.
        public static let responses = Endpoint(path: "/responses")
        /// `POST /messages`, Anthropic's Messages API (`/v1/messages` below
        /// `https://api.anthropic.com`).
        public static let anthropicMessages = Endpoint(path: "/messages")

        /// The schema of the bodies sent to this endpoint.
        var requestKind: RequestSchema.Kind {
            switch path {
            case Self.responses.path: return .responsesRequest
            case Self.anthropicMessages.path: return .messagesRequest
            default: return .request
            }
        }

        public var description: String { version.map { "\(path) (\($0))" } ?? path }
    }
}
