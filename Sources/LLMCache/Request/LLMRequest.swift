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
    /// The API the body is sent to. Part of the key: a body valid for two
    /// APIs (a `prompt` and an `input` side by side) gets each API's own
    /// answer. Default ``Endpoint/chatCompletions``.
    public var endpoint: Endpoint = .chatCompletions
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
        try RequestValidator.validate(body)
        // The schema requires both; this only unwraps them.
        guard case .object(let members) = body, case .string(let model)? = members["model"] else {
            throw CacheError(.invalidRequest, "the request must be an object with a string model", field: "model")
        }
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
