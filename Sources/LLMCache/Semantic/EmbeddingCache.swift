import Synchronization

/// An ``Embedder`` that remembers the vectors of recently embedded texts, so a
/// text asked for again (the same prompt in a retry, the same question from
/// many users) is not run through the model again.
///
/// Bounded: keeps at most ``capacity`` texts and evicts the least recently used.
/// Within one call, each distinct text is embedded once however often it
/// appears. Two concurrent calls missing on the same text may both embed it;
/// the result is the same, only the work is repeated.
///
/// Thread-safe: the table sits behind a `Mutex` that is never held while the
/// wrapped embedder runs.
public final class EmbeddingCache: Embedder {
    /// The embedder that computes vectors on a miss.
    public let base: any Embedder
    /// The most texts kept; `10_000` by default (about 15 MiB of 384-d vectors).
    public let capacity: Int

    private let state: Mutex<LRUTable>

    /// Wraps `base`, keeping at most `capacity` vectors (at least 1).
    public init(_ base: any Embedder, capacity: Int = 10_000) {
        self.base = base
        self.capacity = max(1, capacity)
        self.state = Mutex(LRUTable(capacity: max(1, capacity)))
    }

    /// The identifier of the wrapped embedder: caching does not change vectors.
    public var modelIdentifier: String { base.modelIdentifier }
    /// The dimension of the wrapped embedder.
    public var dimension: Int { base.dimension }

    /// The wrapped embedder's answer: caching does not change what it reads.
    public func embedsWhole(_ text: String) -> Bool { base.embedsWhole(text) }

    /// Texts answered from the table and texts sent to the wrapped embedder,
    /// since creation. A text repeated within one call counts once.
    public var counts: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }

    /// The number of texts currently remembered.
    public var storedCount: Int { state.withLock { $0.count } }

    /// Embeds `texts`, answering remembered ones from the table and sending the
    /// rest, each distinct text once, to ``base`` in one batch.
    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let dimension = base.dimension
        var values = [Float](repeating: 0, count: texts.count * dimension)
        // Texts not remembered, each once, with every position it fills.
        var missing: [String] = []
        var positions: [String: [Int]] = [:]

        state.withLock { table in
            for (index, text) in texts.enumerated() {
                if positions[text] != nil {
                    positions[text]!.append(index)
                } else if let vector = table.get(text) {
                    values.replaceSubrange(index * dimension..<(index + 1) * dimension, with: vector)
                } else {
                    positions[text] = [index]
                    missing.append(text)
                }
            }
            table.misses += missing.count
        }
        if missing.isEmpty { return EmbeddingBatch(dimension: dimension, values: values) }

        let computed = try await base.embed(missing)
        guard computed.count == missing.count, computed.dimension == dimension else {
            throw CacheError(
                .invalidConfiguration,
                "the embedder \(base.modelIdentifier) returned \(computed.count) vectors of \(computed.dimension) floats for \(missing.count) texts of \(dimension); it does not keep the Embedder contract"
            )
        }
        state.withLock { table in
            for (row, text) in missing.enumerated() {
                table.put(text, Array(computed.values[row * dimension..<(row + 1) * dimension]))
            }
        }
        for (row, text) in missing.enumerated() {
            let vector = computed.values[row * dimension..<(row + 1) * dimension]
            for index in positions[text]! {
                values.replaceSubrange(index * dimension..<(index + 1) * dimension, with: vector)
            }
        }
        return EmbeddingBatch(dimension: dimension, values: values)
    }
}

/// A least-recently-used table over slot arrays: a dictionary from text to slot
/// and a doubly linked list of slots threaded through `previous`/`next`, so a
/// hit, an insert and an eviction are O(1) without per-entry allocations.
struct LRUTable {
    private var slots: [String: Int] = [:]
    private var keys: [String] = []
    private var vectors: [[Float]] = []
    private var previous: [Int] = []
    private var next: [Int] = []
    /// Most recently used slot, or -1 when empty.
    private var head = -1
    /// Least recently used slot, or -1 when empty.
    private var tail = -1
    let capacity: Int
    var hits = 0
    var misses = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { slots.count }

    mutating func get(_ key: String) -> [Float]? {
        guard let slot = slots[key] else { return nil }
        hits += 1
        moveToFront(slot)
        return vectors[slot]
    }

    mutating func put(_ key: String, _ vector: [Float]) {
        if let slot = slots[key] {
            vectors[slot] = vector
            moveToFront(slot)
            return
        }
        let slot: Int
        if keys.count < capacity {
            slot = keys.count
            keys.append(key)
            vectors.append(vector)
            previous.append(-1)
            next.append(-1)
        } else {
            // Reuse the least recently used slot for the new text.
            slot = tail
            unlink(slot)
            slots[keys[slot]] = nil
            keys[slot] = key
            vectors[slot] = vector
        }
        slots[key] = slot
        pushFront(slot)
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != head else { return }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let before = previous[slot]
        let after = next[slot]
        if before >= 0 { next[before] = after } else { head = after }
        if after >= 0 { previous[after] = before } else { tail = before }
        previous[slot] = -1
        next[slot] = -1
    }

    private mutating func pushFront(_ slot: Int) {
        previous[slot] = -1
        next[slot] = head
        if head >= 0 { previous[head] = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
