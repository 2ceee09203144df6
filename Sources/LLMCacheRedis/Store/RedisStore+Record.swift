import Foundation
import LLMCache
import NIOCore
import NIOFoundationCompat

/// How one entry is laid out in its Redis hash (record format version 1).
///
/// | field | content |
/// |---|---|
/// | `ver` | `1` |
/// | `v` | the value bytes, as given (already compressed by the facade when it chose to) |
/// | `enc` | the value encoding's name (`identity`, `zstd`) |
/// | `r` | raw size in bytes, decimal |
/// | `w` | weight in bytes (``CacheEntry/weight``), decimal |
/// | `n` | namespace |
/// | `o` | model |
/// | `c` | creation time: nanoseconds since the epoch plus 2⁶³, as 20 zero-padded digits, so that string order is time order (the Lua script compares it with `<`; Lua numbers are doubles and cannot hold nanoseconds exactly) |
/// | `x` | expiry, nanoseconds since the epoch, decimal; absent for none |
/// | `d` | compute duration in nanoseconds, decimal |
/// | `s` | the semantic record as JSON; absent for none |
/// | `k` | CRC-32C of the key's 32 bytes and `v` (``EntryChecksum``), decimal; absent in entries written before it was added |
/// | `t:<tag>` | one empty field per tag |
///
/// Compatibility rule: later versions only add fields, which this reader
/// ignores; a change this reader could not follow writes `ver` 2 or more, which
/// this version reports as ``CacheError/Code/unsupportedVersion``. `k` is such
/// an added field: older readers ignore it, and this reader serves an entry
/// without it unverified.
enum RedisRecord {
    static let version = 1

    /// What a read found under a key.
    enum Decoded {
        case none
        case entry(CacheEntry)
        /// Its value does not match its checksum: damaged, never served.
        case damaged
    }

    static func createdField(_ time: CacheTimestamp) -> String {
        let shifted = UInt64(bitPattern: time.nanosecondsSinceEpoch) ^ (1 << 63)
        let digits = String(shifted)
        return String(repeating: "0", count: 20 - digits.count) + digits
    }

    static func parseCreated(_ text: String) -> CacheTimestamp? {
        guard let shifted = UInt64(text) else { return nil }
        return CacheTimestamp(nanosecondsSinceEpoch: Int64(bitPattern: shifted ^ (1 << 63)))
    }

    /// The field/value pairs of `entry`, tags excluded (the script writes those).
    static func fields(of entry: CacheEntry) throws -> [any RESPArgument] {
        var fields: [any RESPArgument] = [
            "ver", version,
            "v", entry.value,
            "enc", entry.encoding.name,
            "r", entry.rawSize,
            "w", entry.weight,
            "n", entry.namespace,
            "o", entry.model,
            "c", createdField(entry.createdAt),
            "d", entry.computeDuration.nanoseconds,
            "k", Int(EntryChecksum.of(key: entry.key, value: entry.value)),
        ]
        if let expiresAt = entry.expiresAt { fields += ["x", expiresAt.nanosecondsSinceEpoch] }
        if let semantic = entry.semantic { fields += ["s", try JSONEncoder().encode(semantic)] }
        return fields
    }

    /// Reads an entry from an HGETALL reply: ``Decoded/none`` for an empty
    /// reply (no entry), ``Decoded/damaged`` when the value does not match its
    /// checksum `k`.
    static func decode(_ reply: RESPValue, key: CacheKey) throws(CacheError) -> Decoded {
        guard let flat = reply.elements else {
            throw CacheError(.corruptData, "entry \(key.hex) in Redis is not a hash (\(reply)); delete it or use another key prefix")
        }
        guard !flat.isEmpty else { return .none }
        var fields: [String: ByteBuffer] = [:]
        var tags: [String] = []
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, let value = flat[index + 1].bytes {
                if name.hasPrefix("t:") { tags.append(String(name.dropFirst(2))) } else { fields[name] = value }
            }
            index += 2
        }
        func text(_ name: String) -> String? { fields[name].map { String(buffer: $0) } }
        func corrupt(_ what: String) -> CacheError {
            CacheError(.corruptData, "entry \(key.hex) in Redis has \(what); it was not written by LLMCache or was damaged — delete it")
        }
        guard let versionText = text("ver"), let version = Int(versionText) else { throw corrupt("no record version") }
        guard version <= Self.version else {
            throw CacheError(.unsupportedVersion, "entry \(key.hex) uses record version \(version); this LLMCache reads up to \(Self.version) — upgrade it")
        }
        guard let value = fields["v"] else { throw corrupt("no value") }
        if let checksum = text("k") {
            // A checksum field that does not parse is damage too.
            let matches = UInt32(checksum).map { stored in
                value.withUnsafeReadableBytes { EntryChecksum.of(key: key, value: $0) } == stored
            } ?? false
            guard matches else { return .damaged }
        }
        guard let encodingName = text("enc"), let encoding = ValueEncoding(name: encodingName) else {
            throw CacheError(.unsupportedVersion, "entry \(key.hex) has value encoding '\(text("enc") ?? "")', unknown to this version of LLMCache")
        }
        guard let rawSize = text("r").flatMap({ Int($0) }),
              let createdAt = text("c").flatMap(parseCreated),
              let duration = text("d").flatMap({ Int64($0) }) else { throw corrupt("a malformed size, creation time or duration") }
        var expiresAt: CacheTimestamp?
        if let expiry = text("x") {
            guard let nanoseconds = Int64(expiry) else { throw corrupt("a malformed expiry") }
            expiresAt = CacheTimestamp(nanosecondsSinceEpoch: nanoseconds)
        }
        var semantic: SemanticRecord?
        if let json = fields["s"] {
            do {
                semantic = try JSONDecoder().decode(SemanticRecord.self, from: Data(buffer: json))
            } catch {
                throw corrupt("a semantic record that does not decode (\(error))")
            }
        }
        return .entry(CacheEntry(
            key: key,
            value: Data(buffer: value),
            encoding: encoding,
            rawSize: rawSize,
            namespace: text("n") ?? "default",
            model: text("o") ?? "",
            tags: tags,
            createdAt: createdAt,
            expiresAt: expiresAt,
            computeDuration: .nanoseconds(duration),
            semantic: semantic
        ))
    }
}
