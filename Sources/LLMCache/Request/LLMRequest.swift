import Foundation
import Synchronization

/// An LLM request as sent to a provider: the JSON body of an OpenAI-style chat
/// completion, legacy completion or embeddings call (or any provider's request
/// with a `model`), validated so it can be fingerprinted.
///
/// Validation checks the fields whose meaning the cache depends on, and that every
/// number is finite; unknown fields are kept and fingerprinted as they are.
/// A value type; safe to share across tasks.
public struct LLMRequest: Hashable, Sendable {
    /// The whole request body.
    ///
    /// A request made from bytes is parsed into this tree on first use only:
    /// a lookup needs just the canonical encoding, which is made straight from
    /// the bytes. Reading it from several tasks at once is safe.
    public var body: JSONValue { storage.body }
    /// The `model` field.
    public let model: String
    /// The sampling temperature, when the request sets one.
    public var temperature: Double? { temperatureText.map { Double($0) ?? .nan } }
    /// The `temperature` literal: only the few callers that need the number parse it.
    private let temperatureText: String?
    /// Whether the caller asked for a streamed answer (`"stream": true`).
    /// Streaming does not change the answer, so it is not part of the key.
    public let isStreaming: Bool
    /// The canonical encoding of the body, which fingerprints are made of.
    let canonical: CanonicalBody
    private let storage: Storage

    /// Parses and validates a request body.
    ///
    /// - Throws: ``CacheError`` with code ``CacheError/Code/invalidRequest`` and
    ///   ``CacheError/field`` naming the offending field.
    public init<Bytes: Collection>(json bytes: Bytes) throws where Bytes.Element == UInt8 {
        // One pass writes the canonical encoding without a tree. When it cannot
        // vouch for the body, the tree-based path decides: it gives the same
        // encoding, or the error it has always given.
        let encoded = bytes.withContiguousStorageIfAvailable(Self.encode) ?? Array(bytes).withUnsafeBufferPointer(Self.encode)
        if let encoded {
            self.init(encoded.0, source: encoded.source)
        } else {
            try self.init(try JSONValue(parsing: bytes))
        }
    }

    private static func encode(_ buffer: UnsafeBufferPointer<UInt8>) -> (RequestCanonicalizer.Result, source: [UInt8])? {
        RequestCanonicalizer.canonicalize(buffer).map { ($0, Array(buffer)) }
    }

    private init(_ result: RequestCanonicalizer.Result, source: [UInt8]) {
        model = result.model
        temperatureText = result.temperature
        isStreaming = result.isStreaming
        canonical = result.body
        storage = Storage(source: source)
    }

    /// Validates a parsed request body.
    public init(_ body: JSONValue) throws {
        guard case .object(let members) = body else {
            throw CacheError(.invalidRequest, "the request must be a JSON object, got \(body.typeName)", field: "$")
        }
        guard let modelValue = members["model"] else {
            throw CacheError(.invalidRequest, "the request has no model; add \"model\": \"<name>\"", field: "model")
        }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw CacheError(.invalidRequest, "model must be a non-empty string, got \(modelValue.typeName)", field: "model")
        }
        try RequestValidator.validate(members)
        self.model = model
        temperatureText = members["temperature"]?.numberValue?.text
        isStreaming = members["stream"] == .bool(true)
        canonical = CanonicalBody(members: members)
        storage = Storage(body: body)
    }

    /// Encodes a value of your own request type with `JSONEncoder` and validates it.
    public init<Request: Encodable>(encoding request: Request) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .throw
        let data: Data
        do {
            data = try encoder.encode(request)
        } catch let EncodingError.invalidValue(value, context) {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            throw CacheError(.invalidRequest, "cannot encode \(value): \(context.debugDescription)", field: path.isEmpty ? "$" : path)
        }
        try self.init(json: data)
    }

    /// Two requests are equal when their canonical encodings are: exactly when
    /// they have the same key under every fingerprint configuration.
    public static func == (lhs: LLMRequest, rhs: LLMRequest) -> Bool {
        lhs.canonical.bytes == rhs.canonical.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(canonical.bytes)
    }

    /// The JSON type name (`"string"`, `"array"`, `"null"`, ...) of the
    /// top-level member `name`, or `nil` when the body has no such member.
    /// Cheaper than `body[name]`: it does not parse the body.
    package func typeName(ofMember name: String) -> String? {
        canonical.typeName(of: name)
    }

    /// The chat messages, when this is a chat request.
    public var messages: [JSONValue]? { body["messages"]?.arrayValue }

    /// The text of the last `user` message (text parts joined by newlines), or of
    /// the `prompt` of a legacy completion: what a semantic lookup matches by meaning.
    public var lastUserText: String? {
        if let messages {
            for message in messages.reversed() where message["role"]?.stringValue == "user" {
                return Self.text(of: message["content"])
            }
            return nil
        }
        if let prompt = body["prompt"]?.stringValue { return prompt }
        return nil
    }

    static func text(of content: JSONValue?) -> String? {
        switch content {
        case .string(let s): return s
        case .array(let parts):
            let texts = parts.compactMap { part -> String? in
                guard part["type"]?.stringValue == "text" else { return nil }
                return part["text"]?.stringValue
            }
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        default: return nil
        }
    }
}

extension LLMRequest {
    /// The body's source bytes and, once someone asks, its tree. A class so
    /// copies of a request share one parse.
    private final class Storage: Sendable {
        private let source: [UInt8]
        private let tree: Mutex<JSONValue?>

        init(source: [UInt8]) {
            self.source = source
            tree = Mutex(nil)
        }

        init(body: JSONValue) {
            source = []
            tree = Mutex(body)
        }

        var body: JSONValue {
            tree.withLock { tree in
                if let tree { return tree }
                let parsed: JSONValue
                do {
                    parsed = try JSONValue(parsing: source)
                } catch {
                    preconditionFailure("a request accepted by the one-pass encoder no longer parses: \(error)")
                }
                tree = parsed
                return parsed
            }
        }
    }
}

/// Checks the fields whose type the cache relies on. Messages name the field and
/// what it should be.
enum RequestValidator {
    static let finiteNumberFields: Set<String> = [
        "temperature", "top_p", "presence_penalty", "frequency_penalty", "repetition_penalty", "top_k", "min_p",
    ]
    static let integerFields: Set<String> = ["max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"]

    static func validate(_ members: [String: JSONValue]) throws {
        for (name, value) in members {
            if case .null = value { continue }
            if finiteNumberFields.contains(name) {
                guard case .number(let number) = value else {
                    throw CacheError(.invalidRequest, "\(name) must be a number, got \(value.typeName)", field: name)
                }
                guard number.doubleValue.isFinite else {
                    throw CacheError(.invalidRequest, "\(name) must be a finite number, got \(number.text)", field: name)
                }
            } else if integerFields.contains(name) {
                guard case .number(let number) = value, number.intValue != nil else {
                    throw CacheError(.invalidRequest, "\(name) must be an integer, got \(describe(value))", field: name)
                }
            }
        }
        if let stop = members["stop"] {
            switch stop {
            case .null, .string: break
            case .array(let items):
                for (i, item) in items.enumerated() where item.stringValue == nil {
                    throw CacheError(.invalidRequest, "stop sequences must be strings, got \(item.typeName)", field: "stop[\(i)]")
                }
            default:
                throw CacheError(.invalidRequest, "stop must be a string or an array of strings, got \(stop.typeName)", field: "stop")
            }
        }
        if let messages = members["messages"] {
            guard case .array(let list) = messages else {
                throw CacheError(.invalidRequest, "messages must be an array of message objects, got \(messages.typeName)", field: "messages")
            }
            for (i, message) in list.enumerated() { try validateMessage(message, at: "messages[\(i)]") }
        }
        if let tools = members["tools"], tools != .null {
            guard case .array(let list) = tools else {
                throw CacheError(.invalidRequest, "tools must be an array of tool objects, got \(tools.typeName)", field: "tools")
            }
            for (i, tool) in list.enumerated() where tool.objectValue == nil {
                throw CacheError(.invalidRequest, "each tool must be an object, got \(tool.typeName)", field: "tools[\(i)]")
            }
        }
        if let bias = members["logit_bias"], bias != .null {
            guard case .object(let entries) = bias else {
                throw CacheError(.invalidRequest, "logit_bias must be an object of token ids to numbers, got \(bias.typeName)", field: "logit_bias")
            }
            for (token, value) in entries where value.numberValue == nil {
                throw CacheError(.invalidRequest, "logit_bias values must be numbers, got \(value.typeName)", field: "logit_bias.\(token)")
            }
        }
        if let format = members["response_format"], format != .null, format.objectValue == nil {
            throw CacheError(.invalidRequest, "response_format must be an object such as {\"type\": \"json_object\"}, got \(format.typeName)", field: "response_format")
        }
        // Finding the path costs string building at every node, so only look
        // for it once a non-finite number is known to be there.
        if containsNonFiniteNumber(.object(members)) {
            try requireFiniteNumbers(.object(members), path: "")
        }
    }

    static func containsNonFiniteNumber(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): return !number.doubleValue.isFinite
        case .array(let elements): return elements.contains(where: containsNonFiniteNumber)
        case .object(let members): return members.values.contains(where: containsNonFiniteNumber)
        default: return false
        }
    }

    static func validateMessage(_ message: JSONValue, at path: String) throws {
        guard case .object(let fields) = message else {
            throw CacheError(.invalidRequest, "each message must be an object with a role, got \(message.typeName)", field: path)
        }
        guard let role = fields["role"] else {
            throw CacheError(.invalidRequest, "the message has no role; add \"role\": \"user\" (or system, assistant, tool)", field: "\(path).role")
        }
        guard role.stringValue != nil else {
            throw CacheError(.invalidRequest, "role must be a string, got \(role.typeName)", field: "\(path).role")
        }
        if let content = fields["content"] {
            switch content {
            case .null, .string: break
            case .array(let parts):
                for (j, part) in parts.enumerated() {
                    guard case .object(let partFields) = part, partFields["type"]?.stringValue != nil else {
                        throw CacheError(.invalidRequest, "each content part must be an object with a string type (\"text\", \"image_url\", ...)", field: "\(path).content[\(j)]")
                    }
                }
            default:
                throw CacheError(.invalidRequest, "content must be a string, an array of content parts, or null, got \(content.typeName)", field: "\(path).content")
            }
        }
        for name in ["name", "tool_call_id"] {
            if let value = fields[name], value != .null, value.stringValue == nil {
                throw CacheError(.invalidRequest, "\(name) must be a string, got \(value.typeName)", field: "\(path).\(name)")
            }
        }
        if let calls = fields["tool_calls"], calls != .null {
            guard case .array(let list) = calls else {
                throw CacheError(.invalidRequest, "tool_calls must be an array, got \(calls.typeName)", field: "\(path).tool_calls")
            }
            for (j, call) in list.enumerated() where call.objectValue == nil {
                throw CacheError(.invalidRequest, "each tool call must be an object, got \(call.typeName)", field: "\(path).tool_calls[\(j)]")
            }
        }
    }

    /// A literal such as 1e999 parses but is infinite as a double; no provider
    /// accepts it, and two such literals must not share a key by accident.
    static func requireFiniteNumbers(_ value: JSONValue, path: String) throws {
        switch value {
        case .number(let number):
            if !number.doubleValue.isFinite {
                throw CacheError(.invalidRequest, "the number \(number.text) is out of range (not finite)", field: path.isEmpty ? "$" : path)
            }
        case .array(let elements):
            for (i, element) in elements.enumerated() { try requireFiniteNumbers(element, path: "\(path)[\(i)]") }
        case .object(let members):
            for (name, member) in members { try requireFiniteNumbers(member, path: path.isEmpty ? name : "\(path).\(name)") }
        default:
            break
        }
    }

    static func describe(_ value: JSONValue) -> String {
        if case .number(let n) = value { return n.text }
        return value.typeName
    }
}
