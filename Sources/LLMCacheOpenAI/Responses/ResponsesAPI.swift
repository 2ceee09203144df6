/// The body of `POST /v1/responses`, OpenAI's Responses API.
///
/// Optional fields left `nil` are not sent, so the provider applies its own
/// defaults. Fields this type does not model are sent and kept through ``extra``.
/// A value type; safe to share across tasks.
public struct ResponsesRequest: Hashable, Sendable, Codable {
    /// The model, e.g. `gpt-4.1-mini` or `o4-mini`.
    public var model: String
    /// The prompt: a string (one user message) or a list of items (messages,
    /// earlier outputs, tool results). `nil` when ``previousResponseID`` or a
    /// stored prompt supplies it.
    public var input: ResponsesInput?
    /// A system (developer) message placed ahead of the input.
    public var instructions: String?
    /// Tools the model may call: functions and built-in tools.
    public var tools: [ResponsesTool]?
    /// `"none"`, `"auto"`, `"required"` or an object naming a tool, e.g.
    /// `{"type":"function","name":"get_weather"}`.
    public var toolChoice: OpenAIJSON?
    /// Text output options: `{"format": {"type": "json_schema", ...}, "verbosity": "low"}`.
    public var text: OpenAIJSON?
    /// Options of reasoning models.
    public var reasoning: Reasoning?
    /// Sampling temperature (0–2).
    public var temperature: Double?
    /// Nucleus sampling mass.
    public var topP: Double?
    /// The most tokens the answer may take, reasoning included.
    public var maxOutputTokens: Int?
    /// The response this one continues; the provider supplies that
    /// conversation's items.
    public var previousResponseID: String?
    /// Extra output to include, e.g. `"reasoning.encrypted_content"` or
    /// `"message.output_text.logprobs"`.
    public var include: [String]?
    /// Whether the provider keeps the response for later retrieval.
    public var store: Bool?
    /// Whether to stream the answer as events. Leave `nil` unless streaming.
    public var stream: Bool?
    /// Up to 16 string pairs attached to the response.
    public var metadata: [String: String]?
    /// A key the provider's own prompt cache groups requests by.
    public var promptCacheKey: String?
    /// Members this type does not model, sent as they are (e.g.
    /// `"parallel_tool_calls": false`, `"truncation": "auto"`,
    /// `"service_tier": "flex"`) and kept when a request is decoded, so a
    /// request passes through unchanged. A name this type models is ignored
    /// here: set its property. Default empty.
    public var extra: [String: OpenAIJSON]

    /// How a reasoning model thinks.
    public struct Reasoning: Hashable, Sendable, Codable {
        /// `minimal`, `low`, `medium` or `high`; `nil` lets the provider choose.
        public var effort: String?
        /// `auto`, `concise` or `detailed`: ask for summaries of the reasoning.
        public var summary: String?

        public init(effort: String? = nil, summary: String? = nil) {
            self.effort = effort
            self.summary = summary
        }
    }

    public init(
        model: String,
        input: ResponsesInput?,
        instructions: String? = nil,
        tools: [ResponsesTool]? = nil,
        toolChoice: OpenAIJSON? = nil,
        text: OpenAIJSON? = nil,
        reasoning: Reasoning? = nil,
        temperature: Double? = nil,
        topP: Double? = nil,
        maxOutputTokens: Int? = nil,
        previousResponseID: String? = nil,
        include: [String]? = nil,
        store: Bool? = nil,
        stream: Bool? = nil,
        metadata: [String: String]? = nil,
        promptCacheKey: String? = nil,
        extra: [String: OpenAIJSON] = [:]
    ) {
        self.model = model
        self.input = input
        self.instructions = instructions
        self.tools = tools
        self.toolChoice = toolChoice
        self.text = text
        self.reasoning = reasoning
        self.temperature = temperature
        self.topP = topP
        self.maxOutputTokens = maxOutputTokens
        self.previousResponseID = previousResponseID
        self.include = include
        self.store = store
        self.stream = stream
        self.metadata = metadata
        self.promptCacheKey = promptCacheKey
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, input, instructions, tools, text, reasoning, temperature, include, store, stream, metadata
        case toolChoice = "tool_choice"
        case topP = "top_p"
        case maxOutputTokens = "max_output_tokens"
        case previousResponseID = "previous_response_id"
        case promptCacheKey = "prompt_cache_key"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        input = try container.decodeIfPresent(ResponsesInput.self, forKey: .input)
        instructions = try container.decodeIfPresent(String.self, forKey: .instructions)
        tools = try container.decodeIfPresent([ResponsesTool].self, forKey: .tools)
        toolChoice = try container.decodeIfPresent(OpenAIJSON.self, forKey: .toolChoice)
        text = try container.decodeIfPresent(OpenAIJSON.self, forKey: .text)
        reasoning = try container.decodeIfPresent(Reasoning.self, forKey: .reasoning)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try container.decodeIfPresent(Double.self, forKey: .topP)
        maxOutputTokens = try container.decodeIfPresent(Int.self, forKey: .maxOutputTokens)
        previousResponseID = try container.decodeIfPresent(String.self, forKey: .previousResponseID)
        include = try container.decodeIfPresent([String].self, forKey: .include)
        store = try container.decodeIfPresent(Bool.self, forKey: .store)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata)
        promptCacheKey = try container.decodeIfPresent(String.self, forKey: .promptCacheKey)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encodeIfPresent(input, forKey: .input)
        try container.encodeIfPresent(instructions, forKey: .instructions)
        try container.encodeIfPresent(tools, forKey: .tools)
        try container.encodeIfPresent(toolChoice, forKey: .toolChoice)
        try container.encodeIfPresent(text, forKey: .text)
        try container.encodeIfPresent(reasoning, forKey: .reasoning)
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(topP, forKey: .topP)
        try container.encodeIfPresent(maxOutputTokens, forKey: .maxOutputTokens)
        try container.encodeIfPresent(previousResponseID, forKey: .previousResponseID)
        try container.encodeIfPresent(include, forKey: .include)
        try container.encodeIfPresent(store, forKey: .store)
        try container.encodeIfPresent(stream, forKey: .stream)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try container.encodeIfPresent(promptCacheKey, forKey: .promptCacheKey)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// The `input` of a Responses request: a string, or a list of items.
public enum ResponsesInput: Hashable, Sendable, Codable {
    /// One user message's text.
    case text(String)
    /// Messages, earlier output items and tool results, in order.
    case items([ResponseInputItem])

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let text = try? single.decode(String.self) {
            self = .text(text)
        } else {
            self = .items(try single.decode([ResponseInputItem].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var single = encoder.singleValueContainer()
        switch self {
        case .text(let text): try single.encode(text)
        case .items(let items): try single.encode(items)
        }
    }
}

/// One item of a Responses request's input: a message (`role` and
/// `content`), a tool's result (`function_call_output` with `call_id` and
/// `output`), or an earlier output item sent back (`function_call`,
/// `reasoning`, ... with their members in ``extra``).
/// A value type; safe to share across tasks.
public struct ResponseInputItem: Hashable, Sendable, Codable {
    /// `message`, `function_call_output`, `function_call`, `reasoning`,
    /// `item_reference`, ...; `nil` for a message written without it.
    public var type: String?
    /// A message's `user`, `system`, `developer` or `assistant`.
    public var role: String?
    /// A message's text or parts.
    public var content: ResponseContent?
    /// The call a `function_call_output` answers (or a `function_call`'s id).
    public var callID: String?
    /// A `function_call_output`'s result: usually a string, or content parts.
    public var output: OpenAIJSON?
    /// Members this type does not model (a `function_call`'s `name` and
    /// `arguments`, a reasoning item's `summary`, an item's `id`), kept as
    /// they are. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(type: String? = nil, role: String? = nil, content: ResponseContent? = nil, callID: String? = nil, output: OpenAIJSON? = nil, extra: [String: OpenAIJSON] = [:]) {
        self.type = type
        self.role = role
        self.content = content
        self.callID = callID
        self.output = output
        self.extra = extra
    }

    /// A message of `role` with plain text.
    public static func message(_ role: String, _ text: String) -> ResponseInputItem {
        ResponseInputItem(type: "message", role: role, content: .text(text))
    }

    /// A `user` message.
    public static func user(_ text: String) -> ResponseInputItem { message("user", text) }
    /// A `developer` message (the Responses API's name for system instructions).
    public static func developer(_ text: String) -> ResponseInputItem { message("developer", text) }
    /// An `assistant` message, e.g. an earlier answer.
    public static func assistant(_ text: String) -> ResponseInputItem { message("assistant", text) }
    /// The result of the function call `callID`.
    public static func functionCallOutput(callID: String, output: String) -> ResponseInputItem {
        ResponseInputItem(type: "function_call_output", callID: callID, output: OpenAIJSON(.string(output)))
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, role, content, output
        case callID = "call_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeIfPresent(String.self, forKey: .type)
        role = try container.decodeIfPresent(String.self, forKey: .role)
        content = try container.decodeIfPresent(ResponseContent.self, forKey: .content)
        callID = try container.decodeIfPresent(String.self, forKey: .callID)
        output = try container.decodeIfPresent(OpenAIJSON.self, forKey: .output)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(role, forKey: .role)
        try container.encodeIfPresent(content, forKey: .content)
        try container.encodeIfPresent(callID, forKey: .callID)
        try container.encodeIfPresent(output, forKey: .output)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A message's content in the Responses API: a string or typed parts.
public enum ResponseContent: Hashable, Sendable, Codable {
    /// Plain text.
    case text(String)
    /// Parts: `input_text`, `input_image`, `input_file`, or for an assistant
    /// message `output_text` and `refusal`.
    case parts([ResponseContentPart])

    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let text = try? single.decode(String.self) {
            self = .text(text)
        } else {
            self = .parts(try single.decode([ResponseContentPart].self))
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

/// One part of a message's content, input or output.
/// A value type; safe to share across tasks.
public struct ResponseContentPart: Hashable, Sendable, Codable {
    /// `input_text`, `input_image`, `input_file`, `output_text`, `refusal`, ...
    public var type: String
    /// The text of an `input_text` or `output_text` part.
    public var text: String?
    /// The text of a `refusal` part.
    public var refusal: String?
    /// An `output_text` part's citations (`url_citation`, `file_citation`, ...).
    public var annotations: [OpenAIJSON]?
    /// Members this type does not model, kept as they are: an
    /// `input_image`'s `image_url` and `detail`, an `input_file`'s
    /// `file_id`, an `output_text`'s `logprobs`. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(type: String, text: String? = nil, refusal: String? = nil, annotations: [OpenAIJSON]? = nil, extra: [String: OpenAIJSON] = [:]) {
        self.type = type
        self.text = text
        self.refusal = refusal
        self.annotations = annotations
        self.extra = extra
    }

    /// An `input_text` part.
    public static func inputText(_ text: String) -> ResponseContentPart { ResponseContentPart(type: "input_text", text: text) }
    /// An `input_image` part from an `https:` or `data:` URL.
    public static func inputImage(url: String, detail: String? = nil) -> ResponseContentPart {
        var extra: [String: OpenAIJSON] = ["image_url": OpenAIJSON(.string(url))]
        if let detail { extra["detail"] = OpenAIJSON(.string(detail)) }
        return ResponseContentPart(type: "input_image", extra: extra)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, text, refusal, annotations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        text = try container.decodeIfPresent(String.self, forKey: .text)
        refusal = try container.decodeIfPresent(String.self, forKey: .refusal)
        annotations = try container.decodeIfPresent([OpenAIJSON].self, forKey: .annotations)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(text, forKey: .text)
        try container.encodeIfPresent(refusal, forKey: .refusal)
        try container.encodeIfPresent(annotations, forKey: .annotations)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A tool a Responses request offers: a function (flat: `name`,
/// `description`, `parameters`, `strict` beside `type`, unlike chat's nested
/// `function`) or a built-in tool (`web_search`, `file_search`, `mcp`, ...,
/// with its options in ``extra``). A value type; safe to share across tasks.
public struct ResponsesTool: Hashable, Sendable, Codable {
    /// `function`, `web_search`, `file_search`, `code_interpreter`, `mcp`, ...
    public var type: String
    /// A function's name.
    public var name: String?
    /// What a function does, for the model.
    public var description: String?
    /// A JSON schema of a function's arguments.
    public var parameters: OpenAIJSON?
    /// Whether the model must follow the schema exactly.
    public var strict: Bool?
    /// A built-in tool's options (`vector_store_ids`, `server_url`, ...),
    /// kept as they are. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(type: String, name: String? = nil, description: String? = nil, parameters: OpenAIJSON? = nil, strict: Bool? = nil, extra: [String: OpenAIJSON] = [:]) {
        self.type = type
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
        self.extra = extra
    }

    /// A function tool.
    public static func function(name: String, description: String? = nil, parameters: OpenAIJSON? = nil, strict: Bool? = nil) -> ResponsesTool {
        ResponsesTool(type: "function", name: name, description: description, parameters: parameters, strict: strict)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, name, description, parameters, strict
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        parameters = try container.decodeIfPresent(OpenAIJSON.self, forKey: .parameters)
        strict = try container.decodeIfPresent(Bool.self, forKey: .strict)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encodeIfPresent(parameters, forKey: .parameters)
        try container.encodeIfPresent(strict, forKey: .strict)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// The answer to a Responses request (`object: "response"`), as
/// `POST /v1/responses` returns it and a stream's `response.completed`
/// event carries it.
///
/// The fields below are typed; every other member (`instructions`, `tools`,
/// `temperature`, `previous_response_id`, `service_tier`, ...) is kept in
/// ``extra``, so a decoded response encodes back whole (except a
/// `"usage": null`, which becomes an absent `usage`).
/// A value type; safe to share across tasks.
public struct ResponseObject: Hashable, Sendable, Codable {
    /// The provider's id of the response, e.g. `resp_68b5…`; what
    /// `previous_response_id` names.
    public var id: String
    /// `response`.
    public var object: String
    /// Unix seconds of creation.
    public var createdAt: Int
    /// `completed`, `incomplete`, `failed`, `in_progress`, `queued` or
    /// `cancelled`; `nil` if the provider did not say.
    public var status: String?
    /// The model that answered.
    public var model: String
    /// What the model produced, in order: messages, tool calls, reasoning.
    public var output: [ResponseOutputItem]
    /// Tokens used, when the provider reports them.
    public var usage: ResponseUsage?
    /// Why the response is `incomplete`, e.g. `{"reason": "max_output_tokens"}`;
    /// JSON `null` when the response says `null`, `nil` when it has no such member.
    public var incompleteDetails: OpenAIJSON?
    /// What went wrong when `failed`: `{"code": ..., "message": ...}`;
    /// JSON `null` when the response says `null`, `nil` when it has no such member.
    public var error: OpenAIJSON?
    /// Members this type does not model, kept as they are. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(
        id: String,
        object: String = "response",
        createdAt: Int,
        status: String? = "completed",
        model: String,
        output: [ResponseOutputItem],
        usage: ResponseUsage? = nil,
        incompleteDetails: OpenAIJSON? = nil,
        error: OpenAIJSON? = nil,
        extra: [String: OpenAIJSON] = [:]
    ) {
        self.id = id
        self.object = object
        self.createdAt = createdAt
        self.status = status
        self.model = model
        self.output = output
        self.usage = usage
        self.incompleteDetails = incompleteDetails
        self.error = error
        self.extra = extra
    }

    /// The text of every `output_text` part of every message, joined with
    /// nothing between them: what the openai SDKs' `output_text` gives.
    public var outputText: String {
        var text = ""
        for case .message(let message) in output {
            for part in message.content where part.type == "output_text" {
                text += part.text ?? ""
            }
        }
        return text
    }

    /// The function calls the model made, in order.
    public var functionCalls: [ResponseFunctionCall] {
        output.compactMap { item in
            if case .functionCall(let call) = item { return call }
            return nil
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, object, status, model, output, usage, error
        case createdAt = "created_at"
        case incompleteDetails = "incomplete_details"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        object = try container.decodeIfPresent(String.self, forKey: .object) ?? "response"
        createdAt = try container.decode(Int.self, forKey: .createdAt)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        model = try container.decode(String.self, forKey: .model)
        output = try container.decodeIfPresent([ResponseOutputItem].self, forKey: .output) ?? []
        usage = try container.decodeIfPresent(ResponseUsage.self, forKey: .usage)
        // decodeIfPresent reads a JSON null as absent; these keep it, so
        // that a decoded response encodes back as it came.
        incompleteDetails = container.contains(.incompleteDetails) ? try container.decode(OpenAIJSON.self, forKey: .incompleteDetails) : nil
        error = container.contains(.error) ? try container.decode(OpenAIJSON.self, forKey: .error) : nil
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encode(model, forKey: .model)
        try container.encode(output, forKey: .output)
        try container.encodeIfPresent(usage, forKey: .usage)
        try container.encodeIfPresent(incompleteDetails, forKey: .incompleteDetails)
        try container.encodeIfPresent(error, forKey: .error)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// One item of a response's `output`: the kinds most code reads are typed,
/// any other (`web_search_call`, `file_search_call`, `mcp_call`,
/// `custom_tool_call`, an item a newer API adds) is kept as it came.
public enum ResponseOutputItem: Hashable, Sendable, Codable {
    /// An assistant message: `output_text` and `refusal` parts.
    case message(ResponseOutputMessage)
    /// A call of a function tool.
    case functionCall(ResponseFunctionCall)
    /// A reasoning model's reasoning: summaries, maybe encrypted content.
    case reasoning(ResponseReasoningItem)
    /// An item of another type, or one whose members do not fit its type.
    case other(OpenAIJSON)

    private enum TypeKey: String, CodingKey {
        case type
    }

    /// The item's `type`.
    public var type: String? {
        switch self {
        case .message: return "message"
        case .functionCall: return "function_call"
        case .reasoning: return "reasoning"
        case .other(let json): return json.value["type"]?.stringValue
        }
    }

    public init(from decoder: any Decoder) throws {
        let type = try? decoder.container(keyedBy: TypeKey.self).decodeIfPresent(String.self, forKey: .type)
        // A typed view that does not fit (a provider's variant) falls back
        // to the item as it came rather than failing the whole response.
        switch type {
        case "message":
            if let message = try? ResponseOutputMessage(from: decoder) {
                self = .message(message)
                return
            }
        case "function_call":
            if let call = try? ResponseFunctionCall(from: decoder) {
                self = .functionCall(call)
                return
            }
        case "reasoning":
            if let reasoning = try? ResponseReasoningItem(from: decoder) {
                self = .reasoning(reasoning)
                return
            }
        default:
            break
        }
        self = .other(try OpenAIJSON(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .message(let message): try message.encode(to: encoder)
        case .functionCall(let call): try call.encode(to: encoder)
        case .reasoning(let reasoning): try reasoning.encode(to: encoder)
        case .other(let json): try json.encode(to: encoder)
        }
    }
}

/// An assistant message of a response's output (`type: "message"`).
/// A value type; safe to share across tasks.
public struct ResponseOutputMessage: Hashable, Sendable, Codable {
    /// The item's id, e.g. `msg_68b5…`.
    public var id: String
    /// `assistant`.
    public var role: String
    /// `completed`, `incomplete` or `in_progress`.
    public var status: String?
    /// `output_text` parts (with `annotations`, and `logprobs` in
    /// ``ResponseContentPart/extra`` when asked for) and `refusal` parts.
    public var content: [ResponseContentPart]
    /// Members this type does not model (e.g. `phase`), kept as they are.
    /// Default empty.
    public var extra: [String: OpenAIJSON]

    public init(id: String, role: String = "assistant", status: String? = "completed", content: [ResponseContentPart], extra: [String: OpenAIJSON] = [:]) {
        self.id = id
        self.role = role
        self.status = status
        self.content = content
        self.extra = extra
    }

    /// The text of its `output_text` parts, joined.
    public var text: String {
        content.filter { $0.type == "output_text" }.compactMap(\.text).joined()
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, type, role, status, content
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        role = try container.decodeIfPresent(String.self, forKey: .role) ?? "assistant"
        status = try container.decodeIfPresent(String.self, forKey: .status)
        content = try container.decode([ResponseContentPart].self, forKey: .content)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("message", forKey: .type)
        try container.encode(role, forKey: .role)
        try container.encodeIfPresent(status, forKey: .status)
        try container.encode(content, forKey: .content)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A function call of a response's output (`type: "function_call"`).
/// A value type; safe to share across tasks.
public struct ResponseFunctionCall: Hashable, Sendable, Codable {
    /// The item's id, e.g. `fc_68b5…`.
    public var id: String?
    /// The id a `function_call_output` item quotes to answer it.
    public var callID: String
    /// The function's name.
    public var name: String
    /// The arguments, as the JSON text the model wrote (may be invalid JSON).
    public var arguments: String
    /// `completed`, `incomplete` or `in_progress`.
    public var status: String?
    /// Members this type does not model, kept as they are. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(id: String? = nil, callID: String, name: String, arguments: String, status: String? = "completed", extra: [String: OpenAIJSON] = [:]) {
        self.id = id
        self.callID = callID
        self.name = name
        self.arguments = arguments
        self.status = status
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, type, name, arguments, status
        case callID = "call_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        callID = try container.decode(String.self, forKey: .callID)
        name = try container.decode(String.self, forKey: .name)
        arguments = try container.decode(String.self, forKey: .arguments)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encode("function_call", forKey: .type)
        try container.encode(callID, forKey: .callID)
        try container.encode(name, forKey: .name)
        try container.encode(arguments, forKey: .arguments)
        try container.encodeIfPresent(status, forKey: .status)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// A reasoning item of a response's output (`type: "reasoning"`): to be
/// sent back in the next request's input when managing the conversation
/// by hand. A value type; safe to share across tasks.
public struct ResponseReasoningItem: Hashable, Sendable, Codable {
    /// A summary or reasoning text part: `summary_text` or `reasoning_text`.
    public struct Part: Hashable, Sendable, Codable {
        /// `summary_text` or `reasoning_text`.
        public var type: String
        /// The text.
        public var text: String

        public init(type: String = "summary_text", text: String) {
            self.type = type
            self.text = text
        }
    }

    /// The item's id, e.g. `rs_68b5…`.
    public var id: String
    /// Summaries of the reasoning, when the request asked for them.
    public var summary: [Part]
    /// The reasoning text itself, where a provider returns it.
    public var content: [Part]?
    /// The reasoning, encrypted, for a stateless next turn (`include:
    /// ["reasoning.encrypted_content"]`).
    public var encryptedContent: String?
    /// `completed`, `incomplete` or `in_progress`, when reported.
    public var status: String?
    /// Members this type does not model, kept as they are. Default empty.
    public var extra: [String: OpenAIJSON]

    public init(id: String, summary: [Part], content: [Part]? = nil, encryptedContent: String? = nil, status: String? = nil, extra: [String: OpenAIJSON] = [:]) {
        self.id = id
        self.summary = summary
        self.content = content
        self.encryptedContent = encryptedContent
        self.status = status
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, type, summary, content, status
        case encryptedContent = "encrypted_content"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        summary = try container.decodeIfPresent([Part].self, forKey: .summary) ?? []
        content = try container.decodeIfPresent([Part].self, forKey: .content)
        encryptedContent = try container.decodeIfPresent(String.self, forKey: .encryptedContent)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        extra = try OpenAIJSON.members(of: decoder, except: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("reasoning", forKey: .type)
        try container.encode(summary, forKey: .summary)
        try container.encodeIfPresent(content, forKey: .content)
        try container.encodeIfPresent(encryptedContent, forKey: .encryptedContent)
        try container.encodeIfPresent(status, forKey: .status)
        try OpenAIJSON.encode(extra, to: encoder, except: CodingKeys.self)
    }
}

/// Tokens a Responses call used.
public struct ResponseUsage: Hashable, Sendable, Codable {
    /// A breakdown of the input tokens.
    public struct InputDetails: Hashable, Sendable, Codable {
        /// Input tokens served from the provider's prompt cache.
        public var cachedTokens: Int?

        public init(cachedTokens: Int? = nil) {
            self.cachedTokens = cachedTokens
        }

        enum CodingKeys: String, CodingKey {
            case cachedTokens = "cached_tokens"
        }
    }

    /// A breakdown of the output tokens.
    public struct OutputDetails: Hashable, Sendable, Codable {
        /// Output tokens spent on reasoning.
        public var reasoningTokens: Int?

        public init(reasoningTokens: Int? = nil) {
            self.reasoningTokens = reasoningTokens
        }

        enum CodingKeys: String, CodingKey {
            case reasoningTokens = "reasoning_tokens"
        }
    }

    /// Tokens of the input, instructions and earlier turns included.
    public var inputTokens: Int
    /// Tokens of the output, reasoning included.
    public var outputTokens: Int
    /// Their sum.
    public var totalTokens: Int
    /// The input's breakdown, when reported.
    public var inputTokensDetails: InputDetails?
    /// The output's breakdown, when reported.
    public var outputTokensDetails: OutputDetails?

    public init(inputTokens: Int, outputTokens: Int, totalTokens: Int, inputTokensDetails: InputDetails? = nil, outputTokensDetails: OutputDetails? = nil) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.totalTokens = totalTokens
        self.inputTokensDetails = inputTokensDetails
        self.outputTokensDetails = outputTokensDetails
    }

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case totalTokens = "total_tokens"
        case inputTokensDetails = "input_tokens_details"
        case outputTokensDetails = "output_tokens_details"
    }
}
