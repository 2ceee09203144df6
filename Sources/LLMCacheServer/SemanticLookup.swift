import Foundation
import LLMCache

/// An answer found by meaning rather than by exact key.
public struct SemanticMatch: Sendable {
    /// The stored answer's bytes.
    public var value: Data
    /// How similar the request is to the one the answer was stored for (0–1].
    public var similarity: Float
    /// The key of the matched entry.
    public var key: CacheKey
    /// How old the matched answer is.
    public var age: Duration
    /// The compute time the answer originally took.
    public var computeDuration: Duration

    public init(value: Data, similarity: Float, key: CacheKey, age: Duration, computeDuration: Duration) {
        self.value = value
        self.similarity = similarity
        self.key = key
        self.age = age
        self.computeDuration = computeDuration
    }
}

/// Where the proxy asks for semantic matches after an exact miss, and tells
/// what it stored so the request can be indexed by meaning.
///
/// The proxy calls ``match(_:namespace:threshold:)`` only when semantic
/// matching is enabled (by the server, or by the request's
/// `X-Cache-Semantic` header) and the exact lookup missed; it calls
/// ``stored(_:namespace:key:)`` after each answer it stores. Implementations
/// are shared by all requests: they must be thread-safe, and should fail
/// open (return `nil`) rather than throw.
public protocol SemanticLookup: Sendable {
    /// The best stored answer for a request that means the same as `request`
    /// in `namespace` with at least `threshold` similarity, or `nil`.
    func match(_ request: LLMRequest, namespace: String, threshold: Double) async -> SemanticMatch?

    /// Called after the answer to `request` was stored under `key`.
    func stored(_ request: LLMRequest, namespace: String, key: CacheKey) async
}
