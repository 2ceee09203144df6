import Crypto

/// Derives ``CacheKey``s from requests: a versioned SHA-256 of the canonical
/// encoding of everything that changes the answer.
///
/// The key covers the namespace, the endpoint (``LLMRequest/endpoint``) and the whole request body — model, messages
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
    /// The ignored names as bytes, when all are ASCII: then a member is
    /// ignored exactly when its (ASCII) name has the same bytes. Otherwise
    /// names are compared as Swift strings, as `Set<String>` does.
    private let ignoredASCIINames: [[UInt8]]?

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let names = configuration.ignoredFields.map { Array($0.utf8) }
        ignoredASCIINames = names.allSatisfy { $0.allSatisfy { $0 < 0x80 } } ? names : nil
    }

    /// The key of `request` in `namespace`.
    public func key(for request: LLMRequest, namespace: String) -> CacheKey {
        var hasher = SHA256()
        header(namespace: namespace, endpoint: request.endpoint).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let body = request.canonical
        body.withPieces(skipping: { isIgnored($0, of: body) }) { hasher.update(bufferPointer: $0) }
        return CacheKey(digest: hasher.finalize())
    }

    /// The exact bytes that are hashed: useful to see why two requests share or
    /// do not share a key.
    public func canonicalBytes(for request: LLMRequest, namespace: String) -> [UInt8] {
        var out = header(namespace: namespace, endpoint: request.endpoint)
        let body = request.canonical
        out.reserveCapacity(out.count + body.bytes.count)
        body.withPieces(skipping: { isIgnored($0, of: body) }) { out.append(contentsOf: $0) }
        return out
    }

    /// What precedes the body: the namespace and, for any endpoint but chat
    /// completions, the endpoint's path and version. Every component is a JSON value with
    /// its own quoting and escaping (and the body is an object, starting with
    /// `{`), so no choice of contents can make two different requests encode
    /// alike.
    private func header(namespace: String, endpoint: LLMRequest.Endpoint) -> [UInt8] {
        var out = Self.prefix
        out.reserveCapacity(namespace.utf8.count + 24)
        JSONWriter.writeString(namespace, into: &out)
        out.append(0x0A)
        Self.writeEndpoint(endpoint, into: &out)
        return out
    }

    private static let prefix = Array("llm-cache/v\(version)\n".utf8)

    /// Writes the endpoint's part of a key or scope: nothing for chat
    /// completions (whose keys are the body's alone), else the path as a JSON
    /// string and, when set, the version as another, each on its own line.
    static func writeEndpoint(_ endpoint: LLMRequest.Endpoint, into out: inout [UInt8]) {
        guard endpoint != .chatCompletions else { return }
        JSONWriter.writeString(endpoint.path, into: &out)
        out.append(0x0A)
        if let version = endpoint.version {
            // An array, so it cannot be mistaken for the body (an object) nor
            // for a path (a string).
            out.append(UInt8(ascii: "["))
            JSONWriter.writeString(version, into: &out)
            out.append(UInt8(ascii: "]"))
            out.append(0x0A)
        }
    }

    private func isIgnored(_ member: CanonicalBody.Member, of body: CanonicalBody) -> Bool {
        if configuration.ignoredFields.isEmpty { return false }
        if let ignoredASCIINames, let name = body.plainName(of: member) {
            return ignoredASCIINames.contains { $0.elementsEqual(name) }
        }
        return configuration.ignoredFields.contains(body.name(of: member))
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
