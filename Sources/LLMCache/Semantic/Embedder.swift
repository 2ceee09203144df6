import Synchronization

/// Embeddings of a batch of texts in one contiguous buffer, row `i` for text `i`.
public struct EmbeddingBatch: Sendable, Hashable {
    /// The length of every vector.
    public let dimension: Int
    /// `count × dimension` values, row-major.
    public let values: [Float]

    public init(dimension: Int, values: [Float]) {
        precondition(dimension > 0 && values.count % dimension == 0, "an embedding batch holds whole rows")
        self.dimension = dimension
        self.values = values
    }

    /// The number of vectors.
    public var count: Int { values.count / dimension }

    /// Vector `index` as an array.
    public subscript(index: Int) -> [Float] {
        Array(values[index * dimension..<(index + 1) * dimension])
    }

    /// Every vector as its own array.
    public var vectors: [[Float]] { (0..<count).map { self[$0] } }
}

/// Turns texts into L2-normalised sentence embeddings.
///
/// Batch-first: one call embeds many texts, which is how every implementation
/// is fastest. The model identifier is recorded with every stored vector, so
/// vectors of different models are never compared. Implementations are
/// thread-safe.
public protocol Embedder: Sendable {
    /// Identifies the model, e.g. `sentence-transformers/all-MiniLM-L6-v2`.
    var modelIdentifier: String { get }
    /// The length of every vector.
    var dimension: Int { get }
    /// Embeds `texts`, one row per text, in order.
    func embed(_ texts: [String]) async throws -> EmbeddingBatch
}

extension Embedder {
    /// Embeds one text.
    public func embed(_ text: String) async throws -> [Float] {
        try await embed([text])[0]
    }
}

/// An embedder that remembers the vectors of recent texts, so a text asked
/// again (a retried or repeated prompt) is not embedded twice.
///
/// Bounded: at most `capacity` texts, least recently used dropped first.
/// Thread-safe.
public final class EmbeddingCache: Embedder {
    private struct State: ~Copyable {
        var vectors: [String: (vector: [Float], stamp: UInt64)] = [:]
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    public let base: any Embedder
    /// The most texts remembered. Default 10,000.
    public let capacity: Int
    private let state = Mutex(State())

    public init(_ base: any Embedder, capacity: Int = 10_000) {
        precondition(capacity > 0, "an embedding cache needs a positive capacity")
        self.base = base
        self.capacity = capacity
    }

    public var modelIdentifier: String { base.modelIdentifier }
    public var dimension: Int { base.dimension }

    /// Texts served from memory and texts embedded, since creation.
    public var counts: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        var found: [Int: [Float]] = [:]
        state.withLock { s in
            for (i, text) in texts.enumerated() {
                guard let cached = s.vectors[text] else { continue }
                s.clock += 1
                s.vectors[text] = (cached.vector, s.clock)
                found[i] = cached.vector
            }
            s.hits += found.count
            s.misses += texts.count - found.count
        }
        var missing: [String] = []
        var seen = Set<String>()
        for (i, text) in texts.enumerated() where found[i] == nil && seen.insert(text).inserted { missing.append(text) }
        var computed: [String: [Float]] = [:]
        if !missing.isEmpty {
            let batch = try await base.embed(missing)
            for (i, text) in missing.enumerated() { computed[text] = batch[i] }
            state.withLock { s in
                for (text, vector) in computed {
                    s.clock += 1
                    s.vectors[text] = (vector, s.clock)
                }
                if s.vectors.count > capacity {
                    // Drop the oldest eighth at once: eviction stays O(1) amortised.
                    let excess = s.vectors.count - capacity + capacity / 8
                    let oldest = s.vectors.sorted { $0.value.stamp < $1.value.stamp }.prefix(excess).map(\.key)
                    for text in oldest { s.vectors[text] = nil }
                }
            }
        }
        var values: [Float] = []
        values.reserveCapacity(texts.count * dimension)
        for (i, text) in texts.enumerated() { values.append(contentsOf: found[i] ?? computed[text]!) }
        return EmbeddingBatch(dimension: dimension, values: values)
    }
}

extension SemanticCache {
    /// A semantic tier over `embedder`.
    public convenience init(
        embedder: any Embedder,
        configuration: Configuration = Configuration(),
        approximateIndex: (@Sendable (Int) throws -> any VectorIndex)? = nil
    ) {
        self.init(embeddingModel: embedder.modelIdentifier, dimension: embedder.dimension, configuration: configuration, approximateIndex: approximateIndex) { text in
            try await embedder.embed(text)
        }
    }
}
