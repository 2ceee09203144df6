import Crypto
import HTTPTypes
import LLMCache

/// Derives the cache namespace of a request from its credentials, so that
/// callers with different API keys never share entries.
///
/// The namespace is `tenant-` and the first 16 bytes of a SHA-256 (in hex)
/// over the `Authorization`, `api-key` and `x-api-key` headers: the key
/// itself is never stored, and the same key always maps to the same
/// namespace, across restarts and proxies. Requests without credentials share
/// the namespace of the empty credential. With a shared namespace configured,
/// every request uses it.
struct TenantNamespace: Sendable {
    /// The headers a namespace is derived from, as one request sent them.
    /// Three fields rather than an array: it is read on every request, and
    /// ``RequestMemo`` keys remembered requests by it.
    struct Credentials: Hashable, Sendable {
        var authorization: String?
        var apiKey: String?
        var xAPIKey: String?

        static let apiKeyHeader = HTTPField.Name("api-key")!
        static let xAPIKeyHeader = HTTPField.Name("x-api-key")!

        init(_ headers: HTTPFields) {
            authorization = headers[.authorization]
            apiKey = headers[Self.apiKeyHeader]
            xAPIKey = headers[Self.xAPIKeyHeader]
        }
    }

    let shared: String?

    func namespace(for headers: HTTPFields) -> String {
        namespace(for: Credentials(headers))
    }

    func namespace(for credentials: Credentials) -> String {
        if let shared { return shared }
        var hasher = SHA256()
        Self.domain.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        // Length-prefixed, so no choice of header values can make two
        // different credential sets hash alike. Hashed from the strings' own
        // bytes: this runs on every request.
        func add(_ value: String?) {
            var value = value ?? ""
            value.withUTF8 { bytes in
                withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
            }
        }
        add(credentials.authorization)
        add(credentials.apiKey)
        add(credentials.xAPIKey)
        return hasher.finalize().withUnsafeBytes { Self.namespace(digest: $0) }
    }

    static let domain = Array("llm-cache-tenant/v1".utf8)

    /// The namespace an API key (sent as `Authorization: Bearer <key>`) maps
    /// to: for the admin API, which names tenants by key.
    func namespace(forAPIKey key: String) -> String {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        return namespace(for: headers)
    }

    static func namespace(digest: some Collection<UInt8>) -> String {
        let prefix = "tenant-".utf8
        return String(unsafeUninitializedCapacity: prefix.count + 32) { out in
            var index = 0
            for byte in prefix {
                out[index] = byte
                index += 1
            }
            for byte in digest.prefix(16) {
                out[index] = HexDigits.ascii(byte >> 4)
                out[index + 1] = HexDigits.ascii(byte & 0x0F)
                index += 2
            }
            return index
        }
    }
}

/// Checks the admin token in constant time: both sides are hashed first, so
/// the comparison takes the same time whatever the length or content of the
/// guess, and leaks nothing about the token.
struct AdminToken: Sendable {
    private let digest: [UInt8]

    init(_ token: String) {
        digest = Array(SHA256.hash(data: Array(token.utf8)))
    }

    func accepts(_ headers: HTTPFields) -> Bool {
        guard let value = headers[.authorization], value.count > 7, value.prefix(7).lowercased() == "bearer " else { return false }
        let guess = Array(SHA256.hash(data: Array(value.dropFirst(7).utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(digest, guess) { difference |= a ^ b }
        return difference == 0
    }
}
