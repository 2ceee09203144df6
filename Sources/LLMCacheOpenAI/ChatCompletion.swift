/// The body of `POST /v1/chat/completions`.
///
/// Optional fields left `nil` are not sent, so the provider applies its own
/// defaults. Fields this type does not model are sent and kept through ``extra``.
/// A value type; safe to share across tasks.
public struct ChatCompletionRequest: Hashable, Sendable, Codable {
    /// The model, e.g. `gpt-4o-mini`.
    public var model: String
    /// The conversation so far.
    public var messages: [ChatMessage]
    /// Sampling temperature (0–2).
    public var temperature: Double?
    /// Nucleus sampling mass.
    public var topP: Double?
    /// How many choices to generate.
    public var n: Int?
    /// Whether to stream the answer as `chat.completion.chunk` events. Set by
    /// the client's streaming methods; leave `nil` otherwise.
    public var stream: Bool?
    /// Streaming options, e.g. `{"include_usage": true}`.
    public var streamOptions: OpenAIJSON?
    /// Up to four sequences where generation stops.
    public var stop: [String]?
    /// The legacy token limit.
    public var maxTokens: Int?
    /// The token limit of newer models.
    public var maxCompletionTokens: Int?
    /// Presence penalty (−2–2).
    public var presencePenalty: Double?
    /// Frequency penalty (−2–2).
    public var frequencyPenalty: Double?
    /// Seed for best-effort deterministic sampling.
    public var seed: Int?
    /// Functions the model may call.
    public var tools: [Tool]?
    /// `"none"`, `"auto"`, `"required"` or `{"type":"function","function":{"name":...}}`.
    public var toolChoice: OpenAIJSON?
    /// `{"type":"json_object"}` or `{"type":"json_schema","json_schema":{...}}`.
    public var responseFormat: OpenAIJSON?
    /// An end-user identifier (not part of cache keys).
    public var user: String?
    /// Members this type does not model, sent as they are (e.g.
    /// `"parallel_tool_calls": false`, `"reasoning_effort": "low"`,
    /// `"logit_bias": {...}`) and kept when a request is decoded, so a
    /// request passes through unchanged. A name this type models is ignored
    /// here: set its property. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(
        model: String,
        messages: [ChatMessage],
        temperature: Double? = nil,
        topP: Double? = nil,
        n: Int? = nil,
        stream: Bool? = nil,
        streamOptions: OpenAIJSON? = nil,
        stop: [String]? = nil,
        maxTokens: Int? = nil,
        maxCompletionTokens: Int? = nil,
        presencePenalty: Double? = nil,
        frequencyPenalty: Double? = nil,
        seed: Int? = nil,
        tools: [Tool]? = nil,
        toolChoice: OpenAIJSON? = nil,
        responseFormat: OpenAIJSON? = nil,
        user: String? = nil,
        extra: [String: OpenAIJSON] = [:]
    ) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.n = n
        self.stream = stream
        self.streamOptions = streamOptions
        self.stop = stop
        self.maxTokens = maxTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.seed = seed
        self.tools = tools
        self.toolChoice = toolChoice
        self.responseFormat = responseFormat
        self.user = user
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, messages, temperature, n, stream, stop, seed, tools, user
        case topP = "top_p"
        case streamOptions = "stream_options"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case toolChoice = "tool_choice"
        case responseFormat = "response_format"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        messages = try container.decode([ChatMessage].self, forKey: .messages)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try container.decodeIfPresent(Double.self, forKey: .topP)
        n = try container.decodeIfPresent(Int.self, forKey: .n)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        streamOptions = try container.decodeIfPresent(OpenAIJSON.self, forKey: .streamOptions)
        stop = try container.decodeIfPresent([String].self, forKey: .stop)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        presencePenalty = try container.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try container.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        seed = try container.decodeIfPresent(Int.self, forKey: .seed)
        tools = try container.decodeIfPresent([Tool].self, forKey: .tools)
        toolChoice = try container.decodeIfPresent(OpenAIJSON.self, forKey: .toolChoice)
        responseFormat = try container.decodeIfPresent(OpenAIJSON.self, forKey: .responseFormat)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(messages, forKey: .messages)
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(topP, forKey: .topP)
        try container.encodeIfPresent(n, forKey: .n)
        try container.encodeIfPresent(stream, forKey: .stream)
        try container.encodeIfPresent(streamOptions, forKey: .streamOptions)
        try container.encodeIfPresent(stop, forKey: .stop)
        try container.encodeIfPresent(maxTokens, forKey: .maxTokens)
        try container.encodeIfPresent(maxCompletionTokens, forKey: .maxCompletionTokens)
        try container.encodeIfPresent(presencePenalty, forKey: .presencePenalty)
        try container.encodeIfPresent(frequencyPenalty, forKey: .frequencyPenalty)
        try container.encodeIfPresent(seed, forKey: .seed)
        try container.encodeIfPresent(tools, forKey: .tools)
        try container.encodeIfPresent(toolChoice, forKey: .toolChoice)
        try container.encodeIfPresent(responseFormat, forKey: .responseFormat)
        try container.encodeIfPresent(user, forKey: .user)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// One message of a chat: system, user, assistant (possibly with tool calls) or tool.
public struct ChatMessage: Hashable, Sendable, Codable {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    public var role: String
    /// Text, content parts (text and images), or `nil` for an assistant
    /// message that only calls tools.
    public var content: MessageContent?
    /// An optional participant name.
    public var name: String?
    /// The calls an assistant message makes.
    public var toolCalls: [ToolCall]?
    /// For `tool` messages: the call this answers.
    public var toolCallID: String?
    /// A refusal from the model, when it declined.
    public var refusal: String?

    public init(role: String, content: MessageContent?, name: String? = nil, toolCalls: [ToolCall]? = nil, toolCallID: String? = nil, refusal: String? = nil) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.refusal = refusal
    }

    /// A `system` message.
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: .text(text)) }
    /// A `user` message.
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: .text(text)) }
    /// An `assistant` message.
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: .text(text)) }
    /// A `tool` message answering the call `id`.
    public static func tool(_ text: String, callID id: String) -> ChatMessage { ChatMessage(role: "tool", content: .text(text), toolCallID: id) }

    /// The text of the content: the string, or the text parts joined by newlines.
    public var text: String? {
        switch content {
        case .text(let text)?: return text
        case .parts(let parts)?:
            let texts = parts.compactMap(\.text)
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        case nil: return nil
        }
    }

    enum CodingKeys: String, CodingKey {
        case role, content, name, refusal
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }
}

/// A message's content: a string or a list of typed parts.
public enum MessageContent: Hashable, Sendable, Codable {
    /// Plain text.
    case text(String)
    /// Typed parts: text, images, audio.
    case parts([ContentPart])

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let text = try? single.decode(String.self) {
            self = .text(text)
        } else {
            self = .parts(try single.decode([ContentPart].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .text(let text): try single.encode(text)
        case .parts(let parts): try single.encode(parts)
        }
    }
}

/// One part of a multi-part message.
public struct ContentPart: Hashable, Sendable, Codable {
    /// An image reference: an `https:` or `data:` URL and a detail level.
    public struct ImageURL: Hashable, Sendable, Codable {
        /// The image's URL.
        public var url: String
        /// `low`, `high` or `auto`; `nil` lets the provider choose.
        public var detail: String?

        public init(url: String, detail: String? = nil) {
            self.url = url
            self.detail = detail
        }
    }

    /// `text`, `image_url`, `input_audio`, `file`, ...
    public var type: String
    /// The text of a `text` part.
    public var text: String?
    /// The image of an `image_url` part.
    public var imageURL: ImageURL?
    /// The members of other kinds of part, kept as they are: an
    /// `input_audio` part's `{"input_audio": {"data": ..., "format": "wav"}}`,
    /// a `file` part's `{"file": {...}}`. A name this type models is ignored
    /// here. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(type: String, text: String? = nil, imageURL: ImageURL? = nil, extra: [String: OpenAIJSON] = [:]) {
        self.type = type
        self.text = text
        self.imageURL = imageURL
        self.extra = extra
    }

    /// A text part.
    public static func text(_ text: String) -> ContentPart { ContentPart(type: "text", text: text) }
    /// An image part.
    public static func image(url: String, detail: String? = nil) -> ContentPart {
        ContentPart(type: "image_url", imageURL: ImageURL(url: url, detail: detail))
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, text
        case imageURL = "image_url"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        text = try container.decodeIfPresent(String.self, forKey: .text)
        imageURL = try container.decodeIfPresent(ImageURL.self, forKey: .imageURL)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(text, forKey: .text)
        try container.encodeIfPresent(imageURL, forKey: .imageURL)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A function the model may call.
public struct Tool: Hashable, Sendable, Codable {
    /// A function's name, description and JSON-schema parameters.
    public struct Function: Hashable, Sendable, Codable {
        /// The function's name.
        public var name: String
        /// What it does, for the model.
        public var description: String?
        /// A JSON schema of its arguments.
        public var parameters: OpenAIJSON?
        /// Whether the model must follow the schema exactly.
        public var strict: Bool?

        public init(name: String, description: String? = nil, parameters: OpenAIJSON? = nil, strict: Bool? = nil) {
            self.name = name
            self.description = description
            self.parameters = parameters
            self.strict = strict
        }
    }

    /// Always `function` today.
    public var type: String
    /// The function.
    public var function: Function

    public init(function: Function) {
        self.type = "function"
        self.function = function
    }
}

/// A call an assistant message makes to a tool.
public struct ToolCall: Hashable, Sendable, Codable {
    /// The function called and its arguments as JSON text.
    public struct FunctionCall: Hashable, Sendable, Codable {
        /// The function's name.
        public var name: String
        /// The arguments, as the JSON text the model wrote (may be invalid JSON).
        public var arguments: String

        public init(name: String, arguments: String) {
            self.name = name
            self.arguments = arguments
        }
    }

    /// The call's id, quoted by the `tool` message that answers it.
    public var id: String
    /// Always `function` today.
    public var type: String
    /// What is called.
    public var function: FunctionCall

    public init(id: String, function: FunctionCall) {
        self.id = id
        self.type = "function"
        self.function = function
    }
}

/// Tokens a call used.
public struct Usage: Hashable, Sendable, Codable {
    /// Tokens of the request.
    public var promptTokens: Int
    /// Tokens of the answer (0 for embeddings).
    public var completionTokens: Int?
    /// Their sum.
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int?, totalTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
    }
}

/// The answer to a chat completion request (`object: "chat.completion"`).
public struct ChatCompletion: Hashable, Sendable, Codable {
    /// One generated answer.
    public struct Choice: Hashable, Sendable, Codable {
        /// Its position among the `n` choices.
        public var index: Int
        /// The assistant message: text and/or tool calls.
        public var message: ChatMessage
        /// `stop`, `length`, `tool_calls`, `content_filter`; `nil` if unknown.
        public var finishReason: String?

        public init(index: Int, message: ChatMessage, finishReason: String?) {
            self.index = index
            self.message = message
            self.finishReason = finishReason
        }

        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    /// The provider's id of the completion.
    public var id: String
    /// `chat.completion`.
    public var object: String
    /// Unix seconds of creation.
    public var created: Int
    /// The model that answered.
    public var model: String
    /// The answers.
    public var choices: [Choice]
    /// Tokens used, when the provider reports them.
    public var usage: Usage?
    /// The backend configuration fingerprint, when reported.
    public var systemFingerprint: String?

    public init(id: String, object: String = "chat.completion", created: Int, model: String, choices: [Choice], usage: Usage? = nil, systemFingerprint: String? = nil) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.systemFingerprint = systemFingerprint
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }
}

/// One event of a streamed chat completion (`object: "chat.completion.chunk"`).
public struct ChatCompletionChunk: Hashable, Sendable, Codable {
    /// What one choice adds in this chunk.
    public struct Choice: Hashable, Sendable, Codable {
        /// Its position among the `n` choices.
        public var index: Int
        /// The increment.
        public var delta: Delta
        /// Set on the choice's last chunk.
        public var finishReason: String?

        public init(index: Int, delta: Delta, finishReason: String? = nil) {
            self.index = index
            self.delta = delta
            self.finishReason = finishReason
        }

        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
    }

    /// An increment of the assistant message.
    public struct Delta: Hashable, Sendable, Codable {
        /// Set on the first chunk of a choice.
        public var role: String?
        /// More text.
        public var content: String?
        /// Pieces of tool calls, by index: id, type and name come first, then
        /// the arguments in pieces.
        public var toolCalls: [ToolCallDelta]?
        /// More refusal text.
        public var refusal: String?

        public init(role: String? = nil, content: String? = nil, toolCalls: [ToolCallDelta]? = nil, refusal: String? = nil) {
            self.role = role
            self.content = content
            self.toolCalls = toolCalls
            self.refusal = refusal
        }

        enum CodingKeys: String, CodingKey {
            case role, content, refusal
            case toolCalls = "tool_calls"
        }
    }

    /// A piece of a tool call.
    public struct ToolCallDelta: Hashable, Sendable, Codable {
        /// A piece of the function name and arguments.
        public struct Function: Hashable, Sendable, Codable {
            /// The name (on the call's first piece).
            public var name: String?
            /// More argument text.
            public var arguments: String?

            public init(name: String? = nil, arguments: String? = nil) {
                self.name = name
                self.arguments = arguments
            }
        }

        /// Which call of the message this piece belongs to.
        public var index: Int
        /// The call's id (on its first piece).
        public var id: String?
        /// `function` (on its first piece).
        public var type: String?
        /// The name and argument pieces.
        public var function: Function?

        public init(index: Int, id: String? = nil, type: String? = nil, function: Function? = nil) {
            self.index = index
            self.id = id
            self.type = type
            self.function = function
        }
    }

    /// The id shared by every chunk of one completion.
    public var id: String
    /// `chat.completion.chunk`.
    public var object: String
    /// Unix seconds of creation.
    public var created: Int
    /// The model that answers.
    public var model: String
    /// The increments; empty on a final usage-only chunk.
    public var choices: [Choice]
    /// Tokens used: only on the last chunk, and only when requested with
    /// `stream_options: {"include_usage": true}`.
    public var usage: Usage?
    /// The backend configuration fingerprint, when reported.
    public var systemFingerprint: String?

    public init(id: String, object: String = "chat.completion.chunk", created: Int, model: String, choices: [Choice], usage: Usage? = nil, systemFingerprint: String? = nil) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.systemFingerprint = systemFingerprint
    }

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }
}
