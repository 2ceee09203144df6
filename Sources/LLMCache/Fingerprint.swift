import Crypto

/// Derives ``CacheKey``s from requests: a versioned SHA-256 of the canonical
/// encoding of everything that changes the answer.
///
/// The key covers the namespace and the whole request body — model, messages
/// (roles, content and content parts, names, tool calls), tools, tool_choice,
/// response_format, sampling parameters, stop, seed, n, penalties, logit_bias and
/// any other field a provider accepts — except the fields in
/// ``Configuration/ignoredFields``, which never change the answer.
/// Canonical means object members sorted, numbers compared by value
/// (`0.7 == 0.70 == 7e-1`), strings compared exactly.
///
/// A value type; safe to share across tasks.
public struct Fingerprint: Sendable {
    /// What the fingerprint leaves out.
    public struct Configuration: Sendable {
        /// Top-level request fields that never change the answer.
        /// Default: `stream`, `stream_options`, `user`.
        public var ignoredFields: Set<String>

        public init(ignoredFields: Set<String> = ["stream", "stream_options", "user"]) {
            self.ignoredFields = ignoredFields
        }
    }

    /// The version of the key derivation. Changing what goes into keys bumps it,
    /// so old entries are never served for requests they no longer match.
    public static let version = 1

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The key of `request` in `namespace`.
    public func key(for request: LLMRequest, namespace: String) -> CacheKey {
        var hasher = SHA256()
        hasher.update(data: canonicalBytes(for: request, namespace: namespace))
        return CacheKey(digest: hasher.finalize())
    }

    /// The exact bytes that are hashed: useful to see why two requests share or
    /// do not share a key.
    public func canonicalBytes(for request: LLMRequest, namespace: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        // Every component is a JSON value with its own quoting and escaping, so
        // no choice of contents can make two different requests encode alike.
        out.append(contentsOf: Array("llm-cache/v\(Self.version)\n".utf8))
        JSONWriter.writeString(namespace, into: &out)
        out.append(0x0A)
        JSONWriter.writeObject(request.body.objectValue ?? [:], skipping: configuration.ignoredFields, into: &out)
        return out
    }

    /// The key of a memoized function call: the function's name and the canonical
    /// JSON of its encoded arguments, in `namespace`.
    public func key(function: String, arguments: JSONValue, namespace: String) -> CacheKey {
        var out: [UInt8] = Array("llm-cache/memo/v\(Self.version)\n".utf8)
        JSONWriter.writeString(namespace, into: &out)
        out.append(0x0A)
        JSONWriter.writeString(function, into: &out)
        out.append(0x0A)
        JSONWriter.write(arguments, canonical: true, into: &out)
        var hasher = SHA256()
        hasher.update(data: out)
        return CacheKey(digest: hasher.finalize())
    }
}
