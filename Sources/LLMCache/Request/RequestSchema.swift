/// The request fields whose type the cache relies on, and what each must be.
///
/// This is the one description of a request: ``RequestValidator`` reads it to
/// check a parsed body and word its errors, and ``RequestCanonicalizer`` reads
/// it to check the bytes while it encodes them (what it refuses goes to the
/// validator, which then names the fault). So the two cannot drift apart.
///
/// Every place a value can sit has a ``Kind``: the JSON types allowed there,
/// the kind of each element of an array there, and, for an object, its known
/// members (``Kind/fields``). Members no kind names are kept and fingerprinted
/// as they are; like every number in a request, their numbers must be finite.
///
/// Each API's body has its own root kind (``Kind/root(of:)``): `request` for
/// OpenAI's chat completions, completions and embeddings (one table: their
/// fields do not conflict), `responsesRequest` for the Responses API and
/// `messagesRequest` for Anthropic's Messages API. Inner kinds (messages,
/// content parts, tools) are shared where the formats agree.
///
/// A field can also say that it never changes the answer (``Field/key``):
/// both paths then leave it out of the canonical encoding, so it is in no
/// key and no semantic scope — `cache_control` markers, `metadata`,
/// `prompt_cache_key`.
///
/// To add a field, add one ``Field`` line to the `fields` list of the object it
/// belongs to (`requestFields` for a top-level chat field, `responsesFields`,
/// `messagesFields`, `messageFields`, `contentPartFields`, ...), with
/// an existing kind when one fits. A field of a new shape needs a new `Kind`
/// case, answered in each property of `Kind` (the switches are exhaustive, so
/// the compiler lists them) and, for an object with known members, a `fields`
/// list. Both paths then enforce it, and `RequestSchemaTests` checks the two
/// paths against each other for every field. Names must be ASCII: the
/// canonicalizer compares them as bytes.
enum RequestSchema {
    /// A set of JSON value types.
    struct Types: OptionSet, Sendable {
        let rawValue: UInt8

        static let null = Types(rawValue: 1)
        static let bool = Types(rawValue: 2)
        static let number = Types(rawValue: 4)
        static let string = Types(rawValue: 8)
        static let array = Types(rawValue: 16)
        static let object = Types(rawValue: 32)
        static let all: Types = [.null, .bool, .number, .string, .array, .object]
    }

    /// A member that objects of some kind are known to have.
    struct Field: Sendable {
        let name: StaticString
        let kind: Kind
        let presence: Presence
        let key: KeyRole

        init(_ name: StaticString, _ kind: Kind, _ presence: Presence = .optional, key: KeyRole = .kept) {
            self.name = name
            self.kind = kind
            self.presence = presence
            self.key = key
        }

        var isRequired: Bool {
            if case .optional = presence { return false }
            return true
        }
    }

    /// Whether a field is part of the canonical encoding, and so of keys.
    enum KeyRole: Sendable, Equatable {
        /// In the key, like every member the table does not name.
        case kept
        /// Never changes the answer: left out wherever it appears.
        case omitted
        /// Left out when its value is `true`, the API's default, so that
        /// stating the default and leaving it out share a key; any other
        /// value is kept.
        case omittedWhenTrue
    }

    /// Whether an object may leave a field out.
    enum Presence: Sendable {
        case optional
        /// The field must be there; `missing` is the error when it is not,
        /// saying what to add.
        case required(missing: StaticString)
        /// The field must be there and is what makes its object one of its
        /// kind (a content part's `type`), so a fault in it is reported as a
        /// fault of the object, whose ``Kind/mustBe`` names the field.
        case defining
    }

    /// What numbers a kind accepts, beyond being finite as every number must be.
    enum Numbers: Sendable {
        case any, finite, integer
    }

    /// What a value must be, from where it sits. The raw values (0, 1, ...
    /// in the order of the cases) index the lookup tables made from this one.
    enum Kind: UInt8, CaseIterable, Sendable {
        /// Anything; only its numbers are checked, as everywhere.
        case any
        /// The body of an OpenAI chat completion, legacy completion or
        /// embeddings request.
        case request
        /// The body of a Responses API request (`POST /responses`).
        case responsesRequest
        /// The body of an Anthropic Messages API request (`POST /v1/messages`).
        case messagesRequest
        case model
        case finiteNumber
        case integer
        /// A string, an array of ``stopSequence``s, or null.
        case stop
        case stopSequence
        /// An array of ``message``s.
        case messages
        case message
        /// A string.
        case string
        /// A string or null.
        case optionalString
        /// A string, an array of ``contentPart``s, or null.
        case content
        case contentPart
        /// An array of ``tool``s, or null.
        case tools
        case tool
        /// An array of ``toolCall``s, or null.
        case toolCalls
        case toolCall
        /// An object whose every member is a ``logitBiasValue``, or null.
        case logitBias
        case logitBiasValue
        case responseFormat
        /// A JSON object or null.
        case optionalObject
        /// A boolean or null.
        case optionalBool
        /// An array of strings, or null.
        case strings
        /// A Responses API `input`: a string, an array of ``inputItem``s, or null.
        case responsesInput
        /// One item of a Responses API `input`: a message (`role` and
        /// `content`) or a typed item (`function_call_output`, ...).
        case inputItem
        /// An Anthropic `system` prompt: a string, an array of text
        /// ``contentPart``s, or null.
        case system
    }

    // MARK: - The fields

    /// The top-level fields.
    static let requestFields: [Field] = [
        Field("model", .model, .required(missing: #"the request has no model; add "model": "<name>""#)),
        Field("messages", .messages),
        Field("temperature", .finiteNumber),
        Field("top_p", .finiteNumber),
        Field("top_k", .finiteNumber),
        Field("min_p", .finiteNumber),
        Field("presence_penalty", .finiteNumber),
        Field("frequency_penalty", .finiteNumber),
        Field("repetition_penalty", .finiteNumber),
        Field("max_tokens", .integer),
        Field("max_completion_tokens", .integer),
        Field("n", .integer),
        Field("seed", .integer),
        Field("top_logprobs", .integer),
        Field("stop", .stop),
        Field("tools", .tools),
        Field("logit_bias", .logitBias),
        Field("response_format", .responseFormat),
        // Provider prompt-cache hints and bookkeeping change billing or
        // storage, never the answer. Their types are the provider's business.
        Field("prompt_cache_key", .any, key: .omitted),
        Field("prompt_cache_retention", .any, key: .omitted),
        Field("safety_identifier", .any, key: .omitted),
        Field("metadata", .any, key: .omitted),
        Field("cache_control", .any, key: .omitted),
    ]

    /// The top-level fields of a Responses API request. `conversation` and
    /// `background` are answered without the cache (the server decides); the
    /// rest of what is not named here is in the key as it is.
    static let responsesFields: [Field] = [
        Field("model", .model, .required(missing: #"the request has no model; add "model": "<name>""#)),
        Field("input", .responsesInput),
        Field("instructions", .optionalString),
        Field("previous_response_id", .optionalString),
        Field("temperature", .finiteNumber),
        Field("top_p", .finiteNumber),
        Field("max_output_tokens", .integer),
        Field("max_tool_calls", .integer),
        Field("top_logprobs", .integer),
        Field("tools", .tools),
        Field("text", .optionalObject),
        Field("reasoning", .optionalObject),
        Field("include", .strings),
        Field("parallel_tool_calls", .optionalBool),
        Field("background", .optionalBool),
        Field("stream", .optionalBool),
        // `store: false` answers cannot be fetched or chained to by their id,
        // so they are kept apart from the stored ones, the default.
        Field("store", .optionalBool, key: .omittedWhenTrue),
        Field("prompt_cache_key", .optionalString, key: .omitted),
        Field("prompt_cache_retention", .any, key: .omitted),
        Field("safety_identifier", .optionalString, key: .omitted),
        Field("metadata", .optionalObject, key: .omitted),
    ]

    /// The fields of one item of a Responses API `input`.
    static let inputItemFields: [Field] = [
        Field("type", .optionalString),
        Field("role", .optionalString),
        Field("content", .content),
    ]

    /// The top-level fields of an Anthropic Messages API request.
    static let messagesFields: [Field] = [
        Field("model", .model, .required(missing: #"the request has no model; add "model": "<name>""#)),
        Field("messages", .messages, .required(missing: #"messages is required: an array of {"role": ..., "content": ...} objects"#)),
        Field("max_tokens", .integer, .required(missing: #"max_tokens is required by the Messages API; add "max_tokens": 1024 (the most tokens to generate)"#)),
        Field("system", .system),
        Field("stop_sequences", .stop),
        Field("temperature", .finiteNumber),
        Field("top_p", .finiteNumber),
        Field("top_k", .finiteNumber),
        Field("tools", .tools),
        Field("tool_choice", .optionalObject),
        Field("thinking", .optionalObject),
        Field("stream", .optionalBool),
        Field("metadata", .optionalObject, key: .omitted),
        Field("cache_control", .any, key: .omitted),
    ]

    /// The fields of each chat message.
    static let messageFields: [Field] = [
        Field("role", .string, .required(missing: #"the message has no role; add "role": "user" (or system, assistant, tool)"#)),
        Field("content", .content),
        Field("name", .optionalString),
        Field("tool_call_id", .optionalString),
        Field("tool_calls", .toolCalls),
        Field("cache_control", .any, key: .omitted),
    ]

    /// The fields of each part of a message's content (and of each block of
    /// an Anthropic system prompt). `cache_control` marks where a provider's
    /// prompt cache ends: it changes billing, not the answer.
    static let contentPartFields: [Field] = [
        Field("type", .string, .defining),
        Field("cache_control", .any, key: .omitted),
    ]

    /// The fields of each tool.
    static let toolFields: [Field] = [
        Field("cache_control", .any, key: .omitted),
    ]
}

extension RequestSchema.Kind {
    typealias Types = RequestSchema.Types

    /// The members objects of this kind are known to have; empty for kinds
    /// whose members are not checked by name.
    var fields: [RequestSchema.Field] {
        switch self {
        case .request: return RequestSchema.requestFields
        case .responsesRequest: return RequestSchema.responsesFields
        case .messagesRequest: return RequestSchema.messagesFields
        case .message: return RequestSchema.messageFields
        case .contentPart: return RequestSchema.contentPartFields
        case .tool: return RequestSchema.toolFields
        case .inputItem: return RequestSchema.inputItemFields
        case .any, .model, .finiteNumber, .integer, .stop, .stopSequence, .messages, .string, .optionalString, .content,
             .tools, .toolCalls, .toolCall, .logitBias, .logitBiasValue, .responseFormat, .optionalObject, .optionalBool,
             .strings, .responsesInput, .system:
            return []
        }
    }

    /// The JSON types a value of this kind may have.
    var allowed: Types {
        switch self {
        case .any: return .all
        case .request, .responsesRequest, .messagesRequest, .message, .contentPart, .tool, .toolCall, .inputItem: return .object
        case .model, .stopSequence, .string: return .string
        case .finiteNumber, .integer: return [.null, .number]
        case .stop, .content, .responsesInput, .system: return [.null, .string, .array]
        case .messages: return .array
        case .optionalString: return [.null, .string]
        case .tools, .toolCalls, .strings: return [.null, .array]
        case .logitBias, .responseFormat, .optionalObject: return [.null, .object]
        case .logitBiasValue: return .number
        case .optionalBool: return [.null, .bool]
        }
    }

    /// The kind of each element of an array of this kind.
    var element: Self {
        switch self {
        case .stop: return .stopSequence
        case .messages: return .message
        case .content, .system: return .contentPart
        case .tools: return .tool
        case .toolCalls: return .toolCall
        case .strings: return .string
        case .responsesInput: return .inputItem
        case .any, .request, .responsesRequest, .messagesRequest, .model, .finiteNumber, .integer, .stopSequence, .message,
             .string, .optionalString, .contentPart, .tool, .toolCall, .logitBias, .logitBiasValue, .responseFormat,
             .optionalObject, .optionalBool, .inputItem:
            return .any
        }
    }

    /// The kind of every member of an object of this kind that is not one of
    /// its ``fields``.
    var memberValue: Self {
        switch self {
        case .logitBias: return .logitBiasValue
        case .any, .request, .responsesRequest, .messagesRequest, .model, .finiteNumber, .integer, .stop, .stopSequence,
             .messages, .message, .string, .optionalString, .content, .contentPart, .tools, .tool, .toolCalls, .toolCall,
             .logitBiasValue, .responseFormat, .optionalObject, .optionalBool, .strings, .responsesInput, .inputItem, .system:
            return .any
        }
    }

    /// The numbers this kind accepts.
    var numbers: RequestSchema.Numbers {
        switch self {
        case .finiteNumber: return .finite
        case .integer: return .integer
        case .any, .request, .responsesRequest, .messagesRequest, .model, .stop, .stopSequence, .messages, .message,
             .string, .optionalString, .content, .contentPart, .tools, .tool, .toolCalls, .toolCall, .logitBias,
             .logitBiasValue, .responseFormat, .optionalObject, .optionalBool, .strings, .responsesInput, .inputItem, .system:
            return .any
        }
    }

    /// Whether this kind is a whole request body.
    var isRoot: Bool { self == .request || self == .responsesRequest || self == .messagesRequest }

    /// Whether a string of this kind must have at least one character.
    var isNonEmptyString: Bool { self == .model }

    /// What a value of this kind must be, as an error message says it:
    /// "temperature must be *a number*, got string".
    var mustBe: String {
        switch self {
        case .any: return "a JSON value"
        case .request, .responsesRequest, .messagesRequest: return "a JSON object"
        case .model: return "a non-empty string"
        case .finiteNumber: return "a number"
        case .integer: return "an integer"
        case .stop: return "a string or an array of strings"
        case .stopSequence: return "strings"
        case .messages: return "an array of message objects"
        case .message: return "an object with a role"
        case .string, .optionalString: return "a string"
        case .content: return "a string, an array of content parts, or null"
        case .contentPart: return #"an object with a string type ("text", "image_url", ...)"#
        case .tools: return "an array of tool objects"
        case .tool, .toolCall: return "an object"
        case .toolCalls: return "an array"
        case .logitBias: return "an object of token ids to numbers"
        case .logitBiasValue: return "numbers"
        case .responseFormat: return #"an object such as {"type": "json_object"}"#
        case .optionalObject: return "an object"
        case .optionalBool: return "a boolean"
        case .strings: return "an array of strings"
        case .responsesInput: return "a string or an array of input items"
        case .inputItem: return "an object"
        case .system: return "a string or an array of text blocks"
        }
    }

    /// How an error message names a value of this kind that is not a named
    /// field: an element of an array, a member of a ``memberValue`` object,
    /// or the body itself.
    var subject: String {
        switch self {
        case .request, .responsesRequest, .messagesRequest: return "the request"
        case .stopSequence: return "stop sequences"
        case .message: return "each message"
        case .contentPart: return "each content part"
        case .tool: return "each tool"
        case .toolCall: return "each tool call"
        case .logitBiasValue: return "logit_bias values"
        case .inputItem: return "each input item"
        case .any, .model, .finiteNumber, .integer, .stop, .messages, .string, .optionalString, .content, .tools,
             .toolCalls, .logitBias, .responseFormat, .optionalObject, .optionalBool, .strings, .responsesInput, .system:
            return "each value"
        }
    }
}

extension RequestSchema.Numbers {
    /// What a number must be, as an error message says it.
    var mustBe: String {
        switch self {
        case .any: return "a finite number"
        case .finite: return "a finite number"
        case .integer: return "an integer"
        }
    }
}
