/// Embeddings of a batch of texts in one contiguous buffer: row `i` is the
/// vector of the `i`-th text, `dimension` floats long.
///
/// One allocation for the whole batch instead of one array per text, so a
/// batch of thousands of vectors is cheap to build and to pass around. A value
/// type; safe to share across tasks.
public struct EmbeddingBatch: Sendable, Hashable {
    /// The length of every vector.
    public let dimension: Int
    /// The vectors one after another, `count * dimension` floats.
    public let values: [Float]

    /// Wraps `values`, which must hold a whole number of `dimension`-long rows.
    ///
    /// - Precondition: `dimension > 0` and `values.count` is a multiple of `dimension`.
    public init(dimension: Int, values: [Float]) {
        precondition(dimension > 0, "an embedding dimension must be positive")
        precondition(values.count % dimension == 0, "\(values.count) floats are not a whole number of \(dimension)-d vectors")
        self.dimension = dimension
        self.values = values
    }

    /// The number of vectors.
    public var count: Int { values.count / dimension }

    /// The vector of the `index`-th text, copied out of the batch.
    public subscript(index: Int) -> [Float] {
        precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
        return Array(values[index * dimension..<(index + 1) * dimension])
    }

    /// Every vector as its own array, in order.
    public var vectors: [[Float]] { (0..<count).map { self[$0] } }
}

/// Turns texts into fixed-length vectors whose dot product measures how close
/// their meanings are.
///
/// Batch-first: implementations do far less work per text when handed many at
/// once (one pass over the weights, one HTTP request), so callers should send
/// what they have together.
///
/// Implementations must be safe to call from many tasks at once.
public protocol Embedder: Sendable {
    /// A stable name of the model (e.g. `"sentence-transformers/all-MiniLM-L6-v2"`);
    /// vectors of different identifiers must never be compared.
    var modelIdentifier: String { get }
    /// The length of every vector this embedder returns.
    var dimension: Int { get }
    /// Embeds `texts`, returning one L2-normalised vector per text in the same
    /// order. An empty input gives an empty batch.
    func embed(_ texts: [String]) async throws -> EmbeddingBatch

    /// Whether the vector of `text` stands for all of it: `false` when the
    /// model reads only a part (all-MiniLM-L6-v2 reads the first 256 tokens
    /// and drops the rest), so that two texts differing only in what it does
    /// not read would get one vector. The semantic tier neither matches nor
    /// indexes such texts (docs/SEMANTIC.md, "Long texts").
    ///
    /// Called on the request path before any embedding: it must be cheap, and
    /// cost no more for a text of megabytes than for one just past the limit.
    /// `true` by default, for models that read every input whole or reject
    /// what they cannot (an embedding error leaves the request to exact
    /// matching).
    func embedsWhole(_ text: String) -> Bool
}

extension Embedder {
    /// `true`: the model reads every text whole, or fails on one it cannot.
    public func embedsWhole(_ text: String) -> Bool { true }

    /// Embeds one text; a convenience over the batch call.
    public func embed(_ text: String) async throws -> [Float] {
        try await embed([text])[0]
    }
}
