import Synchronization

/// What the cache does with requests that sample (temperature above zero).
///
/// A request's temperature is always part of its key, so answers at different
/// temperatures never mix. A request without a `temperature` field is treated
/// as temperature 1, the providers' default.
public struct SamplingPolicy: Sendable, Hashable, CustomStringConvertible {
    enum Mode: Hashable, Sendable {
        case cacheAll
        case skipAbove(Double)
        case variants(Int)
    }

    let mode: Mode

    /// Cache every request, whatever its temperature. The default.
    public static let cacheAll = SamplingPolicy(mode: .cacheAll)

    /// Neither serve nor store requests whose temperature is above `temperature`.
    public static func skip(above temperature: Double) -> SamplingPolicy {
        SamplingPolicy(mode: .skipAbove(temperature))
    }

    /// For requests with temperature above zero, keep up to `count` distinct
    /// answers per request and serve them in turn, so repeated creative prompts
    /// still vary. The first `count` calls compute; later calls rotate through
    /// the stored answers. `count` is at least 1.
    public static func variants(_ count: Int) -> SamplingPolicy {
        SamplingPolicy(mode: .variants(max(1, count)))
    }

    public var description: String {
        switch mode {
        case .cacheAll: return "cache-all"
        case .skipAbove(let t): return "skip-above(\(t))"
        case .variants(let n): return "variants(\(n))"
        }
    }

    /// The effective temperature of a request.
    static func temperature(of request: LLMRequest) -> Double { request.temperature ?? 1 }
}

/// Round-robin positions for variant keys. A fixed table indexed by key hash
/// keeps memory bounded whatever the number of distinct requests; two requests
/// sharing a slot only share a rotation position, never answers.
final class VariantRotation: Sendable {
    private static let slots = 4096
    private let counters = Mutex([UInt32](repeating: 0, count: VariantRotation.slots))

    func next(for key: CacheKey, count: Int) -> Int {
        counters.withLock { table in
            let slot = Int(truncatingIfNeeded: key.spread % UInt64(Self.slots))
            defer { table[slot] &+= 1 }
            return Int(table[slot] % UInt32(count))
        }
    }
}
