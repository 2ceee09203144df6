import Crypto
import HTTPTypes

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
    static let credentialHeaders: [HTTPField.Name] = [.authorization, HTTPField.Name("api-key")!, HTTPField.Name("x-api-key")!]

    let shared: String?

    func namespace(for headers: HTTPFields) -> String {
        if let shared { return shared }
        var hasher = SHA256()
        hasher.update(data: Array("llm-cache-tenant/v1".utf8))
        for name in Self.credentialHeaders {
            // Length-prefixed, so no choice of header values can make two
            // different credential sets hash alike.
            let value = Array((headers[name] ?? "").utf8)
            hasher.update(data: withUnsafeBytes(of: UInt32(value.count).littleEndian) { Array($0) })
            hasher.update(data: value)
        }
        return Self.namespace(digest: Array(hasher.finalize()))
    }

    /// The namespace an API key (sent as `Authorization: Bearer <key>`) maps
    /// to: for the admin API, which names tenants by key.
    func namespace(forAPIKey key: String) -> String {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        return namespace(for: headers)
    }

    static func namespace(digest: [UInt8]) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = Array("tenant-".utf8)
        for byte in digest.prefix(16) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
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
