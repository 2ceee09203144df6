import Synchronization

/// Exact nearest-neighbour search: every query is compared with every vector.
///
/// Vectors live in one contiguous buffer; removal moves the last row into the
/// hole, so add and remove are O(1) amortised and search is a linear scan of SIMD
/// dot products. Exact and fast for small scopes; past a few thousand vectors an
/// approximate index (`HNSWIndex`) answers in far less time.
///
/// The optional int8 mode stores each component as `round(x * 127)`, a quarter of
/// the memory, with similarities within about 0.005 of the exact ones.
/// Thread-safe: a mutex guards the buffer.
public final class FlatIndex: VectorIndex {
    /// How vectors are stored.
    public enum Storage: Sendable, Hashable {
        /// 32-bit floats: exact. The default.
        case float32
        /// 8-bit integers: a quarter of the memory, approximate similarities.
        case int8
    }

    private struct State: ~Copyable {
        var floats: [Float] = []
        var bytes: [Int8] = []
        var keys: [CacheKey] = []
        var rows: [CacheKey: Int] = [:]
    }

    public let dimension: Int
    /// How this index stores vectors.
    public let storage: Storage
    private let state = Mutex(State())

    /// - Parameters:
    ///   - dimension: the length of every vector.
    ///   - storage: `.float32` (default) or `.int8`.
    public init(dimension: Int, storage: Storage = .float32) {
        precondition(dimension > 0, "a vector index needs a positive dimension")
        self.dimension = dimension
        self.storage = storage
    }

    public var count: Int { state.withLock { $0.keys.count } }

    public var keys: [CacheKey] { state.withLock { $0.keys } }

    public func contains(_ key: CacheKey) -> Bool { state.withLock { $0.rows[key] != nil } }

    public func add(_ vector: [Float], for key: CacheKey) throws {
        try validateVector(vector)
        let dimension = dimension
        let storage = storage
        state.withLock { s in
            let row: Int
            if let existing = s.rows[key] {
                row = existing
            } else {
                row = s.keys.count
                s.keys.append(key)
                s.rows[key] = row
                switch storage {
                case .float32: s.floats.append(contentsOf: repeatElement(0, count: dimension))
                case .int8: s.bytes.append(contentsOf: repeatElement(0, count: dimension))
                }
            }
            let base = row * dimension
            switch storage {
            case .float32:
                for i in 0..<dimension { s.floats[base + i] = vector[i] }
            case .int8:
                for i in 0..<dimension { s.bytes[base + i] = Self.quantize(vector[i]) }
            }
        }
    }

    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        let dimension = dimension
        let storage = storage
        return state.withLock { s in
            guard let row = s.rows.removeValue(forKey: key) else { return false }
            let last = s.keys.count - 1
            if row != last {
                let moved = s.keys[last]
                s.keys[row] = moved
                s.rows[moved] = row
                for i in 0..<dimension {
                    switch storage {
                    case .float32: s.floats[row * dimension + i] = s.floats[last * dimension + i]
                    case .int8: s.bytes[row * dimension + i] = s.bytes[last * dimension + i]
                    }
                }
            }
            s.keys.removeLast()
            switch storage {
            case .float32: s.floats.removeLast(dimension)
            case .int8: s.bytes.removeLast(dimension)
            }
            return true
        }
    }

    public func vector(for key: CacheKey) -> [Float]? {
        let dimension = dimension
        let storage = storage
        return state.withLock { s in
            guard let row = s.rows[key] else { return nil }
            let base = row * dimension
            switch storage {
            case .float32: return Array(s.floats[base..<base + dimension])
            case .int8: return s.bytes[base..<base + dimension].map { Float($0) / 127 }
            }
        }
    }

    public func search(_ query: [Float], k: Int) -> [VectorMatch] {
        guard k > 0, query.count == dimension else { return [] }
        let dimension = dimension
        let storage = storage
        return state.withLock { s in
            var best = TopK(k: k)
            switch storage {
            case .float32:
                query.withUnsafeBufferPointer { q in
                    s.floats.withUnsafeBufferPointer { all in
                        for row in 0..<s.keys.count {
                            best.offer(row, Self.dot(q.baseAddress!, all.baseAddress! + row * dimension, dimension))
                        }
                    }
                }
            case .int8:
                let quantized = query.map(Self.quantize)
                quantized.withUnsafeBufferPointer { q in
                    s.bytes.withUnsafeBufferPointer { all in
                        for row in 0..<s.keys.count {
                            let dot = Self.dot(q.baseAddress!, all.baseAddress! + row * dimension, dimension)
                            best.offer(row, Float(dot) / (127 * 127))
                        }
                    }
                }
            }
            return best.sorted().map { VectorMatch(key: s.keys[$0.row], similarity: $0.score) }
        }
    }

    static func quantize(_ x: Float) -> Int8 {
        Int8(max(-127, min(127, (x * 127).rounded())))
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var sum = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            // Multiply, then add: `addProduct` is a fused multiply-add, which the
            // baseline x86-64 target (no FMA) compiles to a libm call per lane,
            // 25 times slower than this.
            sum += x * y
            i += 16
        }
        var total = sum.sum()
        while i < n { total += a[i] * b[i]; i += 1 }
        return total
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, _ n: Int) -> Int32 {
        var sum = SIMD16<Int32>()
        var i = 0
        while i + 16 <= n {
            let x = SIMD16<Int32>(truncatingIfNeeded: UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Int8>.self))
            let y = SIMD16<Int32>(truncatingIfNeeded: UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Int8>.self))
            sum &+= x &* y
            i += 16
        }
        var total = sum.wrappedSum()
        while i < n { total += Int32(a[i]) * Int32(b[i]); i += 1 }
        return total
    }
}

/// The k best (row, score) pairs seen, kept in a small sorted array: k is small
/// (a handful of candidates), so insertion beats a heap.
struct TopK {
    let k: Int
    private(set) var items: [(row: Int, score: Float)] = []

    init(k: Int) {
        self.k = k
        items.reserveCapacity(k + 1)
    }

    @inline(__always)
    mutating func offer(_ row: Int, _ score: Float) {
        if items.count == k, let last = items.last, score <= last.score { return }
        var index = items.count
        while index > 0, items[index - 1].score < score { index -= 1 }
        items.insert((row, score), at: index)
        if items.count > k { items.removeLast() }
    }

    func sorted() -> [(row: Int, score: Float)] { items }
}
