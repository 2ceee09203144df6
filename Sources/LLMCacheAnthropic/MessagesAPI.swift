import LLMCache

/// The body of `POST /v1/messages` (Anthropic's Messages API).
///
/// Optional fields left `nil` are not sent, so the API applies its own
/// defaults. Fields this type does not model are sent and kept through
/// ``extra``. Keys are snake_case on the wire (`max_tokens`, `tool_choice`).
/// A value type; safe to share across tasks.
public struct MessagesRequest: Hashable, Sendable, Codable {
    /// What the request tells the API about its end user.
    public struct Metadata: Hashable, Sendable, Codable {
        /// An opaque id of the end user (not part of cache keys).
        public var userID: String?

        public init(userID: String? = nil) {
            self.userID = userID
        }

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
        }
    }

    /// The model, e.g. `claude-sonnet-4-5`.
    public var model: String
    /// The most tokens the answer may have (required by the API).
    public var maxTokens: Int
    /// The conversation so far, alternating `user` and `assistant`.
    public var messages: [MessageParam]
    /// The system prompt: text, or text blocks (e.g. with `cache_control`).
    public var system: SystemPrompt?
    /// Tools the model may call: client tools with an input schema, or
    /// Anthropic's server tools (`web_search_20250305`, …).
    public var tools: [ToolDefinition]?
    /// How the model must use the tools.
    public var toolChoice: ToolChoice?
    /// Extended thinking.
    public var thinking: ThinkingConfig?
    /// Custom sequences where generation stops.
    public var stopSequences: [String]?
    /// Sampling temperature (0–1).
    public var temperature: Double?
    /// Nucleus sampling mass.
    public var topP: Double?
    /// Sample only from the `topK` likeliest tokens.
    public var topK: Int?
    /// Whether to stream the answer as server-sent events.
    public var stream: Bool?
    /// About the end user.
    public var metadata: Metadata?
    /// Members this type does not model, sent as they are (e.g.
    /// `"service_tier": "auto"`, `"container": ...`, `"mcp_servers": [...]`)
    /// and kept when a request is decoded, so a request passes through
    /// unchanged. A name this type models is ignored here: set its property.
    /// Default empty.
    public var extra: [String: AnthropicJSON]

    public init(
        model: String,
        maxTokens: Int,
        messages: [MessageParam],
        system: SystemPrompt? = nil,
        tools: [ToolDefinition]? = nil,
        toolChoice: ToolChoice? = nil,
        thinking: ThinkingConfig? = nil,
        stopSequences: [String]? = nil,
        temperature: Double? = nil,
        topP: Double? = nil,
        topK: Int? = nil,
        stream: Bool? = nil,
        metadata: Metadata? = nil,
        extra: [String: AnthropicJSON] = [:]
    ) {
        self.model = model
        self.maxTokens = maxTokens
        self.messages = messages
        self.system = system
        self.tools = tools
        self.toolChoice = toolChoice
        self.thinking = thinking
        self.stopSequences = stopSequences
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.stream = stream
        self.metadata = metadata
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, messages, system, tools, thinking, temperature, stream, metadata
        case maxTokens = "max_tokens"
        case toolChoice = "tool_choice"
        case stopSequences = "stop_sequences"
        case topP = "top_p"
        case topK = "top_k"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        maxTokens = try container.decode(Int.self, forKey: .maxTokens)
        messages = try container.decode([MessageParam].self, forKey: .messages)
        system = try container.decodeIfPresent(SystemPrompt.self, forKey: .system)
        tools = try container.decodeIfPresent([ToolDefinition].self, forKey: .tools)
        toolChoice = try container.decodeIfPresent(ToolChoice.self, forKey: .toolChoice)
        thinking = try container.decodeIfPresent(ThinkingConfig.self, forKey: .thinking)
        stopSequences = try container.decodeIfPresent([String].self, forKey: .stopSequences)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try container.decodeIfPresent(Double.self, forKey: .topP)
        topK = try container.decodeIfPresent(Int.self, forKey: .topK)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        metadata = try container.decodeIfPresent(Metadata.self, forKey: .metadata)
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(maxTokens, forKey: .maxTokens)
        try container.encode(messages, forKey: .messages)
        try container.encodeIfPresent(system, forKey: .system)
        try container.encodeIfPresent(tools, forKey: .tools)
        try container.encodeIfPresent(toolChoice, forKey: .toolChoice)
        try container.encodeIfPresent(thinking, forKey: .thinking)
        try container.encodeIfPresent(stopSequences, forKey: .stopSequences)
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(topP, forKey: .topP)
        try container.encodeIfPresent(topK, forKey: .topK)
        try container.encodeIfPresent(stream, forKey: .stream)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// One input message of a Messages request: a `user` or `assistant` turn.
/// A value type; safe to share across tasks.
public struct MessageParam: Hashable, Sendable, Codable {
    /// A message's content: a string, or content blocks.
    public enum Content: Hashable, Sendable, Codable {
        /// Plain text (one text block).
        case text(String)
        /// Content blocks: text, images, documents, tool uses and results, …
        case blocks([ContentBlock])

        public init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let text = try? single.decode(String.self) {
                self = .text(text)
            } else {
                self = .blocks(try single.decode([ContentBlock].self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            switch self {
            case .text(let text): try single.encode(text)
            case .blocks(let blocks): try single.encode(blocks)
            }
        }
    }

    /// `user` or `assistant`.
    public var role: String
    /// What the turn says.
    public var content: Content

    public init(role: String, content: Content) {
        self.role = role
        self.content = content
    }

    /// A `user` turn of text.
    public static func user(_ text: String) -> MessageParam { MessageParam(role: "user", content: .text(text)) }
    /// An `assistant` turn of text (a prefill, when it is the last one).
    public static func assistant(_ text: String) -> MessageParam { MessageParam(role: "assistant", content: .text(text)) }
}

/// A request's system prompt: a string, or text blocks (which may carry
/// `cache_control`). A value type; safe to share across tasks.
public enum SystemPrompt: Hashable, Sendable, Codable {
    /// Plain text.
    case text(String)
    /// Text blocks.
    case blocks([TextBlock])

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let text = try? single.decode(String.self) {
            self = .text(text)
        } else {
            self = .blocks(try single.decode([TextBlock].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .text(let text): try single.encode(text)
        case .blocks(let blocks): try single.encode(blocks)
        }
    }
}

/// A tool the model may call: a client tool (`name`, `description`,
/// `input_schema`) or one of Anthropic's server tools (`type`, e.g.
/// `web_search_20250305`, and `name`). A value type; safe to share across tasks.
public struct ToolDefinition: Hashable, Sendable, Codable {
    /// The tool's name, as the model's `tool_use` blocks name it.
    public var name: String
    /// What it does, for the model.
    public var description: String?
    /// A JSON schema of its input (client tools).
    public var inputSchema: AnthropicJSON?
    /// A server tool's versioned type; `nil` for a client tool (or `"custom"`).
    public var type: String?
    /// Members this type does not model (`cache_control`, a server tool's
    /// `max_uses`, `allowed_domains`, …), kept as they are. Default empty.
    public var extra: [String: AnthropicJSON]

    public init(name: String, description: String? = nil, inputSchema: AnthropicJSON? = nil, type: String? = nil, extra: [String: AnthropicJSON] = [:]) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.type = type
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, type
        case inputSchema = "input_schema"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        inputSchema = try container.decodeIfPresent(AnthropicJSON.self, forKey: .inputSchema)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encodeIfPresent(inputSchema, forKey: .inputSchema)
        try container.encodeIfPresent(type, forKey: .type)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// How the model must use the tools: `auto`, `any`, `tool` (with a `name`)
/// or `none`. A value type; safe to share across tasks.
public struct ToolChoice: Hashable, Sendable, Codable {
    /// `auto`, `any`, `tool` or `none`.
    public var type: String
    /// The tool a `tool` choice names.
    public var name: String?
    /// Whether the model may call only one tool at a time.
    public var disableParallelToolUse: Bool?

    public init(type: String, name: String? = nil, disableParallelToolUse: Bool? = nil) {
        self.type = type
        self.name = name
        self.disableParallelToolUse = disableParallelToolUse
    }

    /// The model decides whether to call a tool.
    public static let auto = ToolChoice(type: "auto")
    /// The model must call one of the tools.
    public static let any = ToolChoice(type: "any")
    /// The model must not call a tool. (Not `.none`, which a `ToolChoice?`
    /// would read as `nil`.)
    public static let noTool = ToolChoice(type: "none")
    /// The model must call the tool `name`.
    public static func tool(_ name: String) -> ToolChoice { ToolChoice(type: "tool", name: name) }

    enum CodingKeys: String, CodingKey {
        case type, name
        case disableParallelToolUse = "disable_parallel_tool_use"
    }
}

/// Extended thinking: `{"type": "enabled", "budget_tokens": N}` or
/// `{"type": "disabled"}`. A value type; safe to share across tasks.
public struct ThinkingConfig: Hashable, Sendable, Codable {
    /// `enabled`, `disabled`, or a type Anthropic adds (`adaptive`).
    public var type: String
    /// The most tokens the model may think with (at least 1,024, below `max_tokens`).
    public var budgetTokens: Int?
    /// Members this type does not model (e.g. `display`). Default empty.
    public var extra: [String: AnthropicJSON]

    public init(type: String, budgetTokens: Int? = nil, extra: [String: AnthropicJSON] = [:]) {
        self.type = type
        self.budgetTokens = budgetTokens
        self.extra = extra
    }

    /// Thinking on, with a budget of `budgetTokens`.
    public static func enabled(budgetTokens: Int) -> ThinkingConfig { ThinkingConfig(type: "enabled", budgetTokens: budgetTokens) }
    /// Thinking off.
    public static let disabled = ThinkingConfig(type: "disabled")

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type
        case budgetTokens = "budget_tokens"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        budgetTokens = try container.decodeIfPresent(Int.self, forKey: .budgetTokens)
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(budgetTokens, forKey: .budgetTokens)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// The answer to a Messages request (`"type": "message"`).
/// A value type; safe to share across tasks.
public struct Message: Hashable, Sendable, Codable {
    /// Tokens a call used, as billed.
    public struct Usage: Hashable, Sendable, Codable {
        /// Input tokens not read from or written to the prompt cache.
        public var inputTokens: Int
        /// Tokens of the answer, thinking included.
        public var outputTokens: Int
        /// Input tokens written to the prompt cache.
        public var cacheCreationInputTokens: Int?
        /// Input tokens read from the prompt cache.
        public var cacheReadInputTokens: Int?
        /// Members this type does not model (`cache_creation`,
        /// `server_tool_use`, `service_tier`, …), kept as they are. Default empty.
        public var extra: [String: AnthropicJSON]

        public init(inputTokens: Int, outputTokens: Int, cacheCreationInputTokens: Int? = nil, cacheReadInputTokens: Int? = nil, extra: [String: AnthropicJSON] = [:]) {
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.cacheCreationInputTokens = cacheCreationInputTokens
            self.cacheReadInputTokens = cacheReadInputTokens
            self.extra = extra
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case cacheReadInputTokens = "cache_read_input_tokens"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            inputTokens = try container.decode(Int.self, forKey: .inputTokens)
            outputTokens = try container.decode(Int.self, forKey: .outputTokens)
            cacheCreationInputTokens = try container.decodeIfPresent(Int.self, forKey: .cacheCreationInputTokens)
            cacheReadInputTokens = try container.decodeIfPresent(Int.self, forKey: .cacheReadInputTokens)
            extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(inputTokens, forKey: .inputTokens)
            try container.encode(outputTokens, forKey: .outputTokens)
            try container.encodeIfPresent(cacheCreationInputTokens, forKey: .cacheCreationInputTokens)
            try container.encodeIfPresent(cacheReadInputTokens, forKey: .cacheReadInputTokens)
            try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
        }
    }

    /// Anthropic's id of the message, `msg_…`.
    public var id: String
    /// `message`.
    public var type: String
    /// `assistant`.
    public var role: String
    /// The model that answered.
    public var model: String
    /// What the model produced, in order.
    public var content: [ContentBlock]
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `pause_turn`,
    /// `refusal`, …; `nil` only in a stream's `message_start`.
    public var stopReason: String?
    /// The custom stop sequence that ended the answer, if one did.
    public var stopSequence: String?
    /// Tokens used.
    public var usage: Usage
    /// Members this type does not model (`container`, `stop_details`, …),
    /// kept as they are. Default empty.
    public var extra: [String: AnthropicJSON]

    public init(
        id: String,
        type: String = "message",
        role: String = "assistant",
        model: String,
        content: [ContentBlock],
        stopReason: String?,
        stopSequence: String? = nil,
        usage: Usage,
        extra: [String: AnthropicJSON] = [:]
    ) {
        self.id = id
        self.type = type
        self.role = role
        self.model = model
        self.content = content
        self.stopReason = stopReason
        self.stopSequence = stopSequence
        self.usage = usage
        self.extra = extra
    }

    /// The text of the answer: its text blocks joined.
    public var text: String {
        content.lazy.compactMap { block in
            if case .text(let text) = block { return text.text }
            return nil
        }.joined()
    }

    /// The client tools the model called, in order.
    public var toolUses: [ToolUseBlock] {
        content.compactMap { block in
            if case .toolUse(let call) = block { return call }
            return nil
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, type, role, model, content, usage
        case stopReason = "stop_reason"
        case stopSequence = "stop_sequence"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decode(String.self, forKey: .type)
        role = try container.decode(String.self, forKey: .role)
        model = try container.decode(String.self, forKey: .model)
        content = try container.decode([ContentBlock].self, forKey: .content)
        stopReason = try container.decodeIfPresent(String.self, forKey: .stopReason)
        stopSequence = try container.decodeIfPresent(String.self, forKey: .stopSequence)
        usage = try container.decode(Usage.self, forKey: .usage)
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(role, forKey: .role)
        try container.encode(model, forKey: .model)
        try container.encode(content, forKey: .content)
        // The API always sends these two, null when unset.
        try container.encode(stopReason, forKey: .stopReason)
        try container.encode(stopSequence, forKey: .stopSequence)
        try container.encode(usage, forKey: .usage)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// One content block of a message, with a typed view of the kinds most code
/// reads (text, tool use, thinking) and every other kind kept whole.
/// A value type; safe to share across tasks.
public enum ContentBlock: Hashable, Sendable, Codable {
    /// `text`.
    case text(TextBlock)
    /// `tool_use`: the model calls a client tool.
    case toolUse(ToolUseBlock)
    /// `thinking`: the model's extended thinking, signed.
    case thinking(ThinkingBlock)
    /// Any other type, as sent: `image`, `document`, `tool_result`,
    /// `redacted_thinking`, `server_tool_use`, `web_search_tool_result`, and
    /// types Anthropic adds later.
    case other(AnthropicJSON)

    /// The block's `type`.
    public var type: String {
        switch self {
        case .text: return "text"
        case .toolUse: return "tool_use"
        case .thinking: return "thinking"
        case .other(let json): return json.value["type"]?.stringValue ?? ""
        }
    }

    /// A `tool_result` block answering the call `toolUseID` (for a `user` turn).
    public static func toolResult(toolUseID: String, content: String, isError: Bool? = nil) -> ContentBlock {
        var object: [String: JSONValue] = [
            "type": .string("tool_result"),
            "tool_use_id": .string(toolUseID),
            "content": .string(content),
        ]
        if let isError { object["is_error"] = .bool(isError) }
        return .other(AnthropicJSON(.object(object)))
    }

    private enum TypeKey: String, CodingKey {
        case type
    }

    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .type)
        switch type {
        case "text": self = .text(try TextBlock(from: decoder))
        case "tool_use": self = .toolUse(try ToolUseBlock(from: decoder))
        case "thinking": self = .thinking(try ThinkingBlock(from: decoder))
        default: self = .other(try AnthropicJSON(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let block): try block.encode(to: encoder)
        case .toolUse(let block): try block.encode(to: encoder)
        case .thinking(let block): try block.encode(to: encoder)
        case .other(let json): try json.encode(to: encoder)
        }
    }
}

/// A `text` block. A value type; safe to share across tasks.
public struct TextBlock: Hashable, Sendable, Codable {
    /// The text.
    public var text: String
    /// The sources the text cites (when citations or web search are on),
    /// each as sent: `char_location`, `page_location`,
    /// `web_search_result_location`, …
    public var citations: [AnthropicJSON]?
    /// Members this type does not model (`cache_control` in a request), kept
    /// as they are. Default empty.
    public var extra: [String: AnthropicJSON]

    public init(_ text: String, citations: [AnthropicJSON]? = nil, extra: [String: AnthropicJSON] = [:]) {
        self.text = text
        self.citations = citations
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, text, citations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        text = try container.decode(String.self, forKey: .text)
        citations = try container.decodeIfPresent([AnthropicJSON].self, forKey: .citations)
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("text", forKey: .type)
        try container.encode(text, forKey: .text)
        try container.encodeIfPresent(citations, forKey: .citations)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A `tool_use` block: the model calls a client tool. A value type; safe to
/// share across tasks.
public struct ToolUseBlock: Hashable, Sendable, Codable {
    /// The call's id, `toolu_…`, quoted by the `tool_result` that answers it.
    public var id: String
    /// The tool called.
    public var name: String
    /// Its input: an object matching the tool's input schema.
    public var input: AnthropicJSON
    /// Members this type does not model (e.g. `caller`), kept as they are.
    /// Default empty.
    public var extra: [String: AnthropicJSON]

    public init(id: String, name: String, input: AnthropicJSON, extra: [String: AnthropicJSON] = [:]) {
        self.id = id
        self.name = name
        self.input = input
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, id, name, input
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        input = try container.decode(AnthropicJSON.self, forKey: .input)
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("tool_use", forKey: .type)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(input, forKey: .input)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A `thinking` block: the model's reasoning and the signature that lets it
/// be sent back. A value type; safe to share across tasks.
public struct ThinkingBlock: Hashable, Sendable, Codable {
    /// The reasoning (a summary of it on Claude 4 models).
    public var thinking: String
    /// Opaque; send the block back exactly as received.
    public var signature: String
    /// Members this type does not model, kept as they are. Default empty.
    public var extra: [String: AnthropicJSON]

    public init(thinking: String, signature: String, extra: [String: AnthropicJSON] = [:]) {
        self.thinking = thinking
        self.signature = signature
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, thinking, signature
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        thinking = try container.decode(String.self, forKey: .thinking)
        signature = try container.decodeIfPresent(String.self, forKey: .signature) ?? ""
        extra = try AnthropicJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("thinking", forKey: .type)
        try container.encode(thinking, forKey: .thinking)
        try container.encode(signature, forKey: .signature)
        try AnthropicJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}
