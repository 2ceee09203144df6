import Crypto
import Foundation

/// The identity of a cached entry: a SHA-256 digest of a canonical encoding of
/// everything that changes an answer (see ``Fingerprint``).
///
/// Stored as four 64-bit words so hashing and equality on a cache hit cost a
/// few instructions. `CacheKey` is a value type and safe to share across tasks.
public struct CacheKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    @usableFromInline let w0: UInt64
    @usableFromInline let w1: UInt64
    @usableFromInline let w2: UInt64
    @usableFromInline let w3: UInt64

    /// Creates a key from 32 digest bytes.
    ///
    /// - Precondition: `bytes` holds exactly 32 bytes.
    public init<Bytes: Sequence>(digestBytes bytes: Bytes) where Bytes.Element == UInt8 {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        for byte in bytes {
            precondition(count < 32, "a CacheKey is made of exactly 32 bytes")
            let shift = UInt64(8 * (7 - count % 8))
            switch count / 8 {
            case 0: words.0 |= UInt64(byte) << shift
            case 1: words.1 |= UInt64(byte) << shift
            case 2: words.2 |= UInt64(byte) << shift
            default: words.3 |= UInt64(byte) << shift
            }
            count += 1
        }
        precondition(count == 32, "a CacheKey is made of exactly 32 bytes, got \(count)")
        (w0, w1, w2, w3) = words
    }

    /// Creates a key from a SHA-256 digest (or any 32 contiguous bytes) without
    /// walking it byte by byte: this runs on every lookup.
    @inlinable
    public init(digest: some ContiguousBytes) {
        let words: (UInt64, UInt64, UInt64, UInt64)? = digest.withUnsafeBytes { raw in
            guard raw.count == 32 else { return nil }
            return (
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            )
        }
        guard let words else { preconditionFailure("a CacheKey is made of exactly 32 bytes") }
        (w0, w1, w2, w3) = words
    }

    @usableFromInline
    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        (w0, w1, w2, w3) = words
    }

    /// Creates a key from its 64-character lowercase or uppercase hexadecimal form.
    ///
    /// Returns `nil` when `hex` is not 64 hexadecimal digits.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(digestBytes: bytes)
    }

    /// Creates a key by hashing arbitrary bytes with SHA-256.
    ///
    /// Use this for keys of your own; ``Fingerprint`` derives keys for LLM requests.
    public init<Bytes: Sequence>(hashing bytes: Bytes) where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        self.init(digest: hasher.finalize())
    }

    /// The 32 digest bytes, most significant first.
    public var bytes: [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) {
                result.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return result
    }

    /// The 64-character lowercase hexadecimal form, as shown in logs and in the
    /// proxy's `X-Cache-Key` header.
    ///
    /// Written straight from the words into the string's own storage: the
    /// proxy sends it with every response.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            var index = 0
            for word in [w0, w1, w2, w3] {
                var shift: UInt64 = 60
                while true {
                    let nibble = UInt8(truncatingIfNeeded: word >> shift) & 0x0F
                    out[index] = HexDigits.ascii(nibble)
                    index += 1
                    if shift == 0 { break }
                    shift -= 4
                }
            }
            return 64
        }
    }

    public var description: String { hex }

    /// A key derived from this one, for the `index`-th stored answer of the same
    /// request (see ``SamplingPolicy/variants(_:)``). Variant 0 is the key itself.
    public func variant(_ index: Int) -> CacheKey {
        guard index != 0 else { return self }
        return CacheKey(hashing: bytes + Array("#variant:\(index)".utf8))
    }

    /// A 64-bit hash of the key, well mixed, for sketches and sharding.
    @inlinable
    public var spread: UInt64 { w0 ^ (w1 &* 0x9E37_79B9_7F4A_7C15) }

    public static func < (lhs: CacheKey, rhs: CacheKey) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        // The words are already uniformly distributed digest bits: one is enough.
        hasher.combine(w0)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension CacheKey: Codable {
    /// Encodes as the 64-character hexadecimal string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let key = CacheKey(hex: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a cache key is 64 hexadecimal digits, got '\(text)'")
        }
        self = key
    }
}
