import Foundation
import HTTPTypes
import LLMCache
import NIOCore
import Synchronization

/// Recently seen request bodies with what the proxy derived from them: the
/// validated ``LLMRequest``, the tenant namespace and the cache key, per
/// endpoint (a route, with the API version the request's headers ask for).
///
/// A hit is by definition a repeat, and repeats usually come byte for byte
/// from the same client code; for them the proxy skips parsing and
/// canonicalising the body and the two SHA-256 passes (credentials and key),
/// the largest part of the route handler's work (docs/PROXY.md, "Where a
/// hit's time goes"). All three are pure
/// functions of the body bytes, the credential headers and the endpoint, so
/// an entry that matches all three exactly is always right: nothing ever has to be invalidated.
/// Only bodies that parsed are kept; route checks and `Cache-Control`-style
/// headers are still read on every request.
///
/// Direct-mapped: a body's hash picks one of ``capacity`` slots and a newer
/// body takes the slot over, so there is no eviction bookkeeping. Bodies over
/// ``maximumBodyBytes`` are not kept, which bounds the memory to
/// `capacity × maximumBodyBytes` (8 MiB by default). Thread-safe: one lock,
/// held only to copy an entry in or out.
final class RequestMemo: Sendable {
    struct Entry: Sendable {
        var body: [UInt8]
        var credentials: Credentials
        var endpoint: LLMRequest.Endpoint
        var request: LLMRequest
        var namespace: String
        var key: CacheKey
        /// The body's LiteLLM-style `cache` object, read as per-request controls.
        var cacheObject: JSONValue?
        /// What goes upstream when it is not the body as received (the
        /// `cache` object taken out).
        var forwardedBody: ByteBuffer?
    }

    typealias Credentials = TenantNamespace.Credentials

    /// Slots. Default 1024.
    let capacity: Int
    /// The largest body kept, in bytes. Default 8 KiB.
    let maximumBodyBytes: Int
    private let slots: Mutex<[Entry?]>

    init(capacity: Int = 1024, maximumBodyBytes: Int = 8192) {
        self.capacity = max(1, capacity)
        self.maximumBodyBytes = maximumBodyBytes
        slots = Mutex(Array(repeating: nil, count: max(1, capacity)))
    }

    /// The slot `body`, `credentials` and `endpoint` map to, or `nil` for a body too large to keep.
    func slot(body: ByteBuffer, credentials: Credentials, endpoint: LLMRequest.Endpoint) -> Int? {
        guard body.readableBytes <= maximumBodyBytes else { return nil }
        var hasher = Hasher()
        body.withUnsafeReadableBytes { hasher.combine(bytes: $0) }
        hasher.combine(credentials)
        hasher.combine(endpoint)
        return Int(UInt(bitPattern: hasher.finalize()) % UInt(capacity))
    }

    /// The entry for exactly these bytes, credentials and endpoint, if it is in `slot`.
    func entry(at slot: Int, body: ByteBuffer, credentials: Credentials, endpoint: LLMRequest.Endpoint) -> Entry? {
        guard let entry = slots.withLock({ $0[slot] }), entry.endpoint == endpoint, entry.credentials == credentials else { return nil }
        let same = body.withUnsafeReadableBytes { bytes in
            entry.body.withUnsafeBytes { kept in bytes.count == kept.count && (bytes.count == 0 || memcmp(bytes.baseAddress!, kept.baseAddress!, bytes.count) == 0) }
        }
        return same ? entry : nil
    }

    func insert(_ entry: Entry, at slot: Int) {
        slots.withLock { $0[slot] = entry }
    }
}
