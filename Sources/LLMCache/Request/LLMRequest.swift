import Foundation
import Synchronization

/// An LLM request as sent to a provider: the JSON body of an OpenAI-style chat
/// completion, legacy completion or embeddings call, a Responses API call, an
/// Anthropic Messages call (or any provider's request with a `model`),
/// validated so it can be fingerprinted. Its ``endpoint`` says which.
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
    /// The API the body is sent to. Part of the key: a body valid for two
    /// APIs (a `prompt` and an `input` side by side) gets each API's own
    /// answer. It also chose the schema the body was validated and encoded
    /// with. Default ``Endpoint/chatCompletions``.
    public let endpoint: Endpoint
    /// The canonical encoding of the body, which fingerprints are made of.
    let canonical: CanonicalBody
    private let storage: Storage

    /// Parses and validates a request body sent to `endpoint`.
    ///
    /// - Throws: ``CacheError`` with code ``CacheError/Code/invalidRequest`` and
    ///   ``CacheError/field`` naming the offending field.
    public init<Bytes: Collection>(json bytes: Bytes, endpoint: Endpoint = .chatCompletions) throws where Bytes.Element == UInt8 {
        // One pass writes the canonical encoding without a tree. When it cannot
        // vouch for the body, the tree-based path decides: it gives the same
        // encoding, or the error it has always given.
        let root = endpoint.requestKind
        let encoded = bytes.withContiguousStorageIfAvailable { Self.encode($0, root: root) }
            ?? Array(bytes).withUnsafeBufferPointer { Self.encode($0, root: root) }
        if let encoded {
            self.init(encoded.0, source: encoded.source, endpoint: endpoint)
        } else {
            try self.init(try JSONValue(parsing: bytes), endpoint: endpoint)
        }
    }

    private static func encode(_ buffer: UnsafeBufferPointer<UInt8>, root: RequestSchema.Kind) -> (RequestCanonicalizer.Result, source: [UInt8])? {
        RequestCanonicalizer.canonicalize(buffer, root: root).map { ($0, Array(buffer)) }
    }

    private init(_ result: RequestCanonicalizer.Result, source: [UInt8], endpoint: Endpoint) {
        self.endpoint = endpoint
        model = result.model
        temperatureText = result.temperature
        isStreaming = result.isStreaming
        canonical = result.body
        storage = Storage(source: source)
    }

    /// Validates a parsed request body sent to `endpoint`.
    public init(_ body: JSONValue, endpoint: Endpoint = .chatCompletions) throws {
        let root = endpoint.requestKind
        try RequestValidator.validate(body, as: root)
        // The schema requires both; this only unwraps them.
        guard case .object(let members) = body, case .string(let model)? = members["model"],
              case .object(let keyed) = RequestSchema.keyed(body, as: root)
        else {
            throw CacheError(.invalidRequest, "the request must be an object with a string model", field: "model")
        }
        self.endpoint = endpoint
        self.model = model
        temperatureText = members["temperature"]?.numberValue?.text
        isStreaming = members["stream"] == .bool(true)
        canonical = CanonicalBody(members: keyed)
        storage = Storage(body: body)
    }

    /// Encodes a value of your own request type with `JSONEncoder` and
    /// validates it as a body sent to `endpoint`.
    public init<Request: Encodable>(encoding request: Request, endpoint: Endpoint = .chatCompletions) throws {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .throw
        let data: Data
        do {
            data = try encoder.encode(request)
        } catch let EncodingError.invalidValue(value, context) {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            throw CacheError(.invalidRequest, "cannot encode \(value): \(context.debugDescription)", field: path.isEmpty ? "$" : path)
        }
        try self.init(json: data, endpoint: endpoint)
    }

    /// Two requests are equal when their endpoints and canonical encodings
    /// are: exactly when they have the same key under every fingerprint
    /// configuration.
    public static func == (lhs: LLMRequest, rhs: LLMRequest) -> Bool {
        lhs.endpoint == rhs.endpoint && lhs.canonical.bytes == rhs.canonical.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpoint)
        hasher.combine(canonical.bytes)
    }

    /// The JSON type name (`"string"`, `"array"`, `"null"`, ...) of the
    /// top-level member `name`, or `nil` when the body has no such member.
    /// Cheaper than `body[name]`: it does not parse the body.
    package func typeName(ofMember name: String) -> String? {
        canonical.typeName(of: name)
    }

    /// The chat messages, when this is a chat or Anthropic Messages request.
    public var messages: [JSONValue]? { body["messages"]?.arrayValue }

    /// The text of the last user turn (text parts joined by newlines) — the
    /// last `user` message, the last user item of a Responses API `input`
    /// (or the whole `input` when it is a string), or the `prompt` of a
    /// legacy completion: what a semantic lookup matches by meaning.
    public var lastUserText: String? {
        if endpoint.isAPI(.responses) {
            switch body["input"] {
            case .string(let text)?: return text
            case .array(let items)?:
                for item in items.reversed() where Self.isUserMessage(item) {
                    return Self.text(of: item["content"])
                }
                return nil
            default: return nil
            }
        }
        if let messages {
            for message in messages.reversed() where message["role"]?.stringValue == "user" {
                return Self.text(of: message["content"])
            }
            return nil
        }
        if let prompt = body["prompt"]?.stringValue { return prompt }
        return nil
    }

    /// The content part types that hold text a user wrote: `text` (chat,
    /// Anthropic) and `input_text` (Responses API).
    static func isTextPart(_ type: String?) -> Bool {
        type == "text" || type == "input_text"
    }

    /// Whether a Responses API input item is a message from the user (an
    /// `EasyInputMessage` has no `type`; a typed one says `message`).
    static func isUserMessage(_ item: JSONValue) -> Bool {
        guard item["role"]?.stringValue == "user" else { return false }
        let type = item["type"]
        return type == nil || type == .null || type?.stringValue == "message"
    }

    static func text(of content: JSONValue?) -> String? {
        switch content {
        case .string(let s): return s
        case .array(let parts):
            let texts = parts.compactMap { part -> String? in
                guard isTextPart(part["type"]?.stringValue) else { return nil }
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
