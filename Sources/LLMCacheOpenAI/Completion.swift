/// The body of the legacy `POST /v1/completions`.
public struct CompletionRequest: Hashable, Sendable, Codable {
    /// The model, e.g. `gpt-3.5-turbo-instruct`.
    public var model: String
    /// A string, an array of strings, or token arrays.
    public var prompt: OpenAIJSON
    /// The token limit (the provider's default is 16).
    public var maxTokens: Int?
    /// Sampling temperature.
    public var temperature: Double?
    /// Nucleus sampling mass.
    public var topP: Double?
    /// How many choices to generate.
    public var n: Int?
    /// Whether to stream `text_completion` chunks.
    public var stream: Bool?
    /// Stop sequences.
    public var stop: [String]?
    /// Seed for best-effort deterministic sampling.
    public var seed: Int?
    /// Text appended after the completion.
    public var suffix: String?
    /// An end-user identifier (not part of cache keys).
    public var user: String?

    public init(model: String, prompt: OpenAIJSON, maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, n: Int? = nil, stream: Bool? = nil, stop: [String]? = nil, seed: Int? = nil, suffix: String? = nil, user: String? = nil) {
        self.model = model
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.n = n
        self.stream = stream
        self.stop = stop
        self.seed = seed
        self.suffix = suffix
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case model, prompt, temperature, n, stream, stop, seed, suffix, user
        case maxTokens = "max_tokens"
        case topP = "top_p"
    }
}

/// The answer to a legacy completion request (`object: "text_completion"`).
public struct Completion: Hashable, Sendable, Codable {
    /// One generated text.
    public struct Choice: Hashable, Sendable, Codable {
        /// The text.
        public var text: String
        /// Its position among the `n` choices.
        public var index: Int
        /// `stop` or `length`.
        public var finishReason: String?

        public init(text: String, index: Int, finishReason: String?) {
            self.text = text
            self.index = index
            self.finishReason = finishReason
        }

        enum CodingKeys: String, CodingKey {
            case text, index
            case finishReason = "finish_reason"
        }
    }

    /// The provider's id.
    public var id: String
    /// `text_completion`.
    public var object: String
    /// Unix seconds of creation.
    public var created: Int
    /// The model that answered.
    public var model: String
    /// The texts.
    public var choices: [Choice]
    /// Tokens used.
    public var usage: Usage?

    public init(id: String, object: String = "text_completion", created: Int, model: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
    }
}

/// The body of `POST /v1/embeddings`.
public struct EmbeddingRequest: Hashable, Sendable, Codable {
    /// The model, e.g. `text-embedding-3-small`.
    public var model: String
    /// A string, an array of strings, or token arrays.
    public var input: OpenAIJSON
    /// `float` (default) or `base64`.
    public var encodingFormat: String?
    /// Output dimensions, for models that can shorten their vectors.
    public var dimensions: Int?
    /// An end-user identifier (not part of cache keys).
    public var user: String?

    public init(model: String, input: OpenAIJSON, encodingFormat: String? = nil, dimensions: Int? = nil, user: String? = nil) {
        self.model = model
        self.input = input
        self.encodingFormat = encodingFormat
        self.dimensions = dimensions
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case model, input, dimensions, user
        case encodingFormat = "encoding_format"
    }
}

/// The answer to an embeddings request.
public struct EmbeddingResponse: Hashable, Sendable, Codable {
    /// One input's vector.
    public struct Embedding: Hashable, Sendable, Codable {
        /// `embedding`.
        public var object: String
        /// The position of the input it embeds.
        public var index: Int
        /// The vector.
        public var embedding: [Float]

        public init(index: Int, embedding: [Float]) {
            self.object = "embedding"
            self.index = index
            self.embedding = embedding
        }
    }

    /// `list`.
    public var object: String
    /// One vector per input, in input order.
    public var data: [Embedding]
    /// The model that embedded.
    public var model: String
    /// Tokens used.
    public var usage: Usage?

    public init(data: [Embedding], model: String, usage: Usage? = nil) {
        self.object = "list"
        self.data = data
        self.model = model
        self.usage = usage
    }
}

/// The answer to `GET /v1/models`.
public struct ModelList: Hashable, Sendable, Codable {
    /// One model.
    public struct Model: Hashable, Sendable, Codable {
        /// Its name, used as `model` in requests.
        public var id: String
        /// `model`.
        public var object: String
        /// Unix seconds of creation.
        public var created: Int?
        /// Who owns it.
        public var ownedBy: String?

        public init(id: String, created: Int? = nil, ownedBy: String? = nil) {
            self.id = id
            self.object = "model"
            self.created = created
            self.ownedBy = ownedBy
        }

        enum CodingKeys: String, CodingKey {
            case id, object, created
            case ownedBy = "owned_by"
        }
    }

    /// `list`.
    public var object: String
    /// The models.
    public var data: [Model]

    public init(data: [Model]) {
        self.object = "list"
        self.data = data
    }
}
