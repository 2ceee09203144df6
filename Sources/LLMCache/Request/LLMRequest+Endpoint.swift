extension LLMRequest {
    /// The API a request body is sent to, as its path relative to the API
    /// root (`/chat/completions` for `https://api.openai.com/v1/chat/completions`).
    ///
    /// Part of the request's key, except for chat completions, whose keys are
    /// the body's alone (so entries stored before endpoints were keyed, and
    /// warming files of chat requests, keep their keys).
    public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
        /// The path relative to the API root, starting with `/`.
        public let path: String

        public init(path: String) {
            self.path = path
        }

        /// `POST /chat/completions`.
        public static let chatCompletions = Endpoint(path: "/chat/completions")
        /// `POST /completions`, legacy text completions.
        public static let completions = Endpoint(path: "/completions")
        /// `POST /embeddings`.
        public static let embeddings = Endpoint(path: "/embeddings")

        public var description: String { path }
    }
}
