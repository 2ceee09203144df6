/// A cached entry found near a query vector.
public struct VectorMatch: Hashable, Sendable {
    /// The entry's key.
    public var key: CacheKey
    /// Cosine similarity in [-1, 1] (vectors are L2-normalised, so it is their dot product).
    public var similarity: Float

    public init(key: CacheKey, similarity: Float) {
        self.key = key
        self.similarity = similarity
    }
}

/// Nearest-neighbour search over L2-normalised vectors, one vector per cache key.
///
/// Similarity is cosine in [-1, 1] everywhere. Implementations are thread-safe:
/// searches may run concurrently with each other and with updates.
public protocol VectorIndex: AnyObject, Sendable {
    /// The length of every vector; others are rejected.
    var dimension: Int { get }
    /// Live vectors.
    var count: Int { get }
    /// Adds `vector` under `key`, replacing any vector the key had.
    ///
    /// - Throws: ``CacheError/Code/invalidArgument`` for a vector of another
    ///   dimension or with non-finite components.
    func add(_ vector: [Float], for key: CacheKey) throws
    /// Removes `key`'s vector; returns whether there was one.
    @discardableResult
    func remove(_ key: CacheKey) -> Bool
    /// Whether `key` has a vector here.
    func contains(_ key: CacheKey) -> Bool
    /// Up to `k` most similar live vectors, most similar first.
    func search(_ query: [Float], k: Int) -> [VectorMatch]
    /// The vector stored for `key` (as stored: quantised indexes return the
    /// dequantised approximation).
    func vector(for key: CacheKey) -> [Float]?
    /// Every key with a vector, in no particular order.
    var keys: [CacheKey] { get }
}

extension VectorIndex {
    /// Throws ``CacheError/Code/invalidArgument`` unless `vector` has this
    /// index's dimension and only finite components.
    public func validateVector(_ vector: [Float]) throws {
        guard vector.count == dimension else {
            throw CacheError(.invalidArgument, "a vector of dimension \(vector.count) was given to an index of dimension \(dimension); vectors of different embedding models cannot be mixed")
        }
        guard vector.allSatisfy(\.isFinite) else {
            throw CacheError(.invalidArgument, "the vector has NaN or infinite components; the embedder produced an invalid embedding")
        }
    }
}
