import Foundation
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

    private init(mode: Mode) { self.mode = mode }

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

    /// The policy written as ``init(parsing:)`` reads it: `cache-all`,
    /// `variants:N` or `skip-above:T`.
    public var description: String {
        switch mode {
        case .cacheAll: return "cache-all"
        case .skipAbove(let t): return "skip-above:\(t)"
        case .variants(let n): return "variants:\(n)"
        }
    }

    /// Reads a policy as a setting writes it (`llm-cache serve --sampling`):
    /// `cache-all`, `variants:N` with N from 1 to 1000, or `skip-above:T`
    /// with T a temperature of at least 0.
    ///
    /// - Throws: ``CacheError/Code/invalidConfiguration``, saying what is accepted.
    public init(parsing text: String) throws {
        let usage = "use cache-all, variants:N (N from 1 to 1000 answers kept per sampled request) or skip-above:T (T a temperature, e.g. skip-above:0.5)"
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "cache-all" {
            self = .cacheAll
            return
        }
        let parts = trimmed.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { throw CacheError(.invalidConfiguration, "unknown sampling policy '\(text)'; \(usage)") }
        switch parts[0] {
        case "variants":
            guard let count = Int(parts[1]), (1...1000).contains(count) else {
                throw CacheError(.invalidConfiguration, "variants needs a whole number of answers from 1 to 1000, got '\(parts[1])'; \(usage)")
            }
            self = .variants(count)
        case "skip-above":
            guard let temperature = Double(parts[1]), temperature.isFinite, temperature >= 0 else {
                throw CacheError(.invalidConfiguration, "skip-above needs a temperature of at least 0, got '\(parts[1])'; \(usage)")
            }
            self = .skip(above: temperature)
        default:
            throw CacheError(.invalidConfiguration, "unknown sampling policy '\(text)'; \(usage)")
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

    /// The position for `key`'s next call, moving the rotation on.
    func next(for key: CacheKey, count: Int) -> Int {
        counters.withLock { table in
            let slot = Self.slot(of: key)
            defer { table[slot] &+= 1 }
            return Int(table[slot] % UInt32(count))
        }
    }

    /// The position `key`'s last call took (0 before any), leaving the rotation as it is.
    func current(for key: CacheKey, count: Int) -> Int {
        counters.withLock { table in
            let position = table[Self.slot(of: key)]
            return position == 0 ? 0 : Int((position &- 1) % UInt32(count))
        }
    }

    private static func slot(of key: CacheKey) -> Int {
        Int(truncatingIfNeeded: key.spread % UInt64(slots))
    }
}
