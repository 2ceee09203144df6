import CZstd
import Foundation
import Synchronization

/// Transparent compression of large cached values with zstd.
///
/// Values at or above ``threshold`` bytes are compressed when that makes them
/// smaller; others are stored as they are. zstd (Debian's libzstd) was chosen
/// over zlib (compress-nio's codec) because every hit pays the decompression:
/// on chat-completion bodies zlib stores slightly less, but zstd writes and
/// reads them faster (docs/ARCHITECTURE.md, "Compression"; the measurement is
/// in docs/benchmarks/log.md). Thread-safe: each call borrows a zstd context
/// from a small shared pool, since making a fresh one costs more than decoding
/// a few KiB.
public struct Compression: Sendable, Hashable {
    /// Values of at least this many bytes are compressed. Default 1024 (1 KiB).
    public var threshold: Int
    /// zstd level, 1 (fastest) to 19 (smallest). Default 3, zstd's own default.
    public var level: Int32

    /// Compresses values of 1 KiB and more at zstd level 3.
    public static let `default` = Compression(threshold: 1024, level: 3)
    /// Never compresses.
    public static let disabled = Compression(threshold: .max, level: 3)

    public init(threshold: Int = 1024, level: Int32 = 3) {
        self.threshold = threshold
        self.level = level
    }

    /// Encodes `value` for storage: zstd when it is large enough and shrinks,
    /// otherwise unchanged.
    public func encode(_ value: Data) -> (bytes: Data, encoding: ValueEncoding) {
        guard value.count >= threshold else { return (value, .identity) }
        let bound = ZSTD_compressBound(value.count)
        let (compressed, _) = Self.exactData(capacity: bound) { out in
            value.withUnsafeBytes { input in
                ZstdContexts.compressors.with { context in
                    ZSTD_compressCCtx(context, out, bound, input.baseAddress, value.count, level)
                }
            }
        }
        guard let compressed, compressed.count < value.count else { return (value, .identity) }
        return (compressed, .zstd)
    }

    /// Fills a buffer of `capacity` bytes with `fill`, which returns how many it
    /// wrote or a zstd error code, and returns those bytes in a `Data` that
    /// holds exactly them, with `fill`'s result (`nil` data on an error).
    ///
    /// A stored value lives as long as its entry and is charged to the store's
    /// budget by its count, so it must not hold more. `Data(count:)` allocates
    /// more than asked and keeps all of it when `count` is lowered, so a value
    /// compressed into a worst-case buffer held many times what the store
    /// counted (docs/ARCHITECTURE.md, "Compression"). The buffer is shrunk in
    /// place instead.
    static func exactData(capacity: Int, _ fill: (UnsafeMutableRawPointer) -> Int) -> (data: Data?, result: Int) {
        guard let buffer = malloc(max(capacity, 1)) else { return (nil, 0) }
        let written = fill(buffer)
        guard ZSTD_isError(written) == 0, written <= capacity else {
            free(buffer)
            return (nil, written)
        }
        let exact = written < capacity ? realloc(buffer, max(written, 1)) ?? buffer : buffer
        return (Data(bytesNoCopy: exact, count: written, deallocator: .free), written)
    }

    /// Restores a stored value to its original bytes.
    ///
    /// - Throws: ``CacheError/Code/corruptData`` when the bytes do not decode to
    ///   exactly `rawSize` bytes, and ``CacheError/Code/unsupportedVersion`` for
    ///   an encoding this version does not know.
    public static func decode(_ bytes: Data, encoding: ValueEncoding, rawSize: Int) throws -> Data {
        if encoding == .identity { return bytes }
        guard encoding == .zstd else {
            throw CacheError(.unsupportedVersion, "value encoding '\(encoding)' is not known to this version; upgrade llm-cache")
        }
        guard rawSize >= 0, rawSize <= 1 << 31 else {
            throw CacheError(.corruptData, "a compressed value claims \(rawSize) bytes; the entry is damaged and should be deleted")
        }
        let (output, written) = Self.exactData(capacity: rawSize) { out in
            bytes.withUnsafeBytes { input in
                ZstdContexts.decompressors.with { context in
                    ZSTD_decompressDCtx(context, out, rawSize, input.baseAddress, bytes.count)
                }
            }
        }
        guard let output, written == rawSize else {
            let reason = ZSTD_isError(written) != 0 ? String(cString: ZSTD_getErrorName(written)) : "\(written) bytes instead of \(rawSize)"
            throw CacheError(.corruptData, "a compressed value does not decode (\(reason)); the entry is damaged and should be deleted")
        }
        return output
    }
}

/// zstd contexts kept for reuse. `ZSTD_compress` and `ZSTD_decompress` make and
/// free a context of over 100 KB on every call, which costs more than the work
/// for the values a cache holds, many times over for a value of 1 KiB
/// (docs/benchmarks/log.md, 2026-11-27). A context serves one call at a time: calls
/// borrow one under a lock and give it back; at most ``kept`` idle ones are
/// kept of each kind.
final class ZstdContexts: Sendable {
    static let compressors = ZstdContexts(make: { ZSTD_createCCtx() }, free: { _ = ZSTD_freeCCtx($0) })
    static let decompressors = ZstdContexts(make: { ZSTD_createDCtx() }, free: { _ = ZSTD_freeDCtx($0) })
    static let kept = 8

    // Addresses rather than pointers, which are not Sendable; each is owned by
    // the pool while idle and by exactly one call while borrowed.
    private let idle = Mutex<[UInt]>([])
    private let make: @Sendable () -> OpaquePointer?
    private let free: @Sendable (OpaquePointer) -> Void

    private init(make: @escaping @Sendable () -> OpaquePointer?, free: @escaping @Sendable (OpaquePointer) -> Void) {
        self.make = make
        self.free = free
    }

    /// Runs `body` with a context of this pool's kind, then takes it back.
    func with<T>(_ body: (OpaquePointer) -> T) -> T {
        let context = idle.withLock { $0.popLast() }.flatMap { OpaquePointer(bitPattern: $0) } ?? make()!
        let result = body(context)
        let kept = idle.withLock { contexts in
            guard contexts.count < Self.kept else { return false }
            contexts.append(UInt(bitPattern: context))
            return true
        }
        if !kept { free(context) }
        return result
    }
}
