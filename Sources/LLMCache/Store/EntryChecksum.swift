import CChecksum
import Foundation
import Logging
import Synchronization

/// The checksum persistent stores keep beside each entry's value, so that a
/// value damaged on disk or in Redis is dropped instead of served.
///
/// What is covered: the entry's 32 key bytes, then its value bytes exactly as
/// stored (after compression, so a hit verifies without decompressing). The
/// key is included so that a value that ends up under another row's key (a
/// page swapped on disk, a hand-edited file) also fails. Metadata (tags,
/// expiry, sizes) is not covered: damage there is either caught when it is
/// decoded or harmless to the answer served.
///
/// The algorithm is CRC-32C (Castagnoli), the one iSCSI and ext4 use: the
/// SSE4.2 `crc32` instruction where the processor has it, chosen at run time,
/// a slicing-by-8 table otherwise (the `CChecksum` target). It detects every
/// burst error up to 32 bits and any odd number of flipped bits, which is
/// what damaged storage produces; it is no defence against someone who writes
/// the store on purpose (they could rewrite the checksum too). Cost: see
/// docs/SQLITE_STORE.md, "Checksums".
///
/// Thread-safe: pure functions.
package enum EntryChecksum {
    /// The checksum of `key` followed by `value`.
    package static func of(key: CacheKey, value: Data) -> UInt32 {
        value.withUnsafeBytes { of(key: key, value: $0) }
    }

    /// The checksum of `key` followed by `value`, read in place.
    package static func of(key: CacheKey, value: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = ~0
        key.bytes.withUnsafeBytes { crc = llmcache_crc32c_update(crc, $0.baseAddress, $0.count) }
        if let base = value.baseAddress, !value.isEmpty { crc = llmcache_crc32c_update(crc, base, value.count) }
        return ~crc
    }

    /// Plain CRC-32C of `bytes` (initial value and final XOR `0xFFFFFFFF`), for
    /// checking the implementation against published check values;
    /// `portable` uses the table even where the instruction exists.
    package static func crc32c(_ bytes: UnsafeRawBufferPointer, portable: Bool = false) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        return ~(portable ? llmcache_crc32c_update_portable(~0, base, bytes.count) : llmcache_crc32c_update(~0, base, bytes.count))
    }
}

/// Counts the entries a store found damaged (checksum mismatch) and logs them
/// at `warning`: at most one line a second, the lines left out meanwhile
/// counted in the next one (`"suppressed": N`), so a file full of damage does
/// not flood the log with one line per request.
///
/// Thread-safe.
package final class CorruptEntryReporter: Sendable {
    private let logger: Logger
    private let store: String
    private let count = Atomic<Int>(0)
    private let state = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))

    /// - Parameter store: what the log line names, e.g. `SQLite cache cache.sqlite`.
    package init(logger: Logger, store: String) {
        self.logger = logger
        self.store = store
    }

    /// Entries reported since this reporter was created.
    package var total: Int { count.load(ordering: .relaxed) }

    /// Counts one damaged entry and logs it unless a line was written less
    /// than a second ago.
    package func report(_ key: CacheKey, removed: Bool) {
        count.add(1, ordering: .relaxed)
        let now = ContinuousClock.now
        let suppressed = state.withLock { state -> Int? in
            if let last = state.last, now - last < .seconds(1) {
                state.suppressed += 1
                return nil
            }
            state.last = now
            defer { state.suppressed = 0 }
            return state.suppressed
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = ["key": "\(key.hex)", "total": "\(total)"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning(
            "\(store) holds an entry whose value does not match its checksum (damaged storage); answered as a miss and \(removed ? "deleted" : "left in place (the store cannot write)"): the answer is fetched again. Many of these mean failing storage: check the disk, or the Redis server's memory",
            metadata: metadata
        )
    }
}
