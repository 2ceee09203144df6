/// Which entries an invalidation removes.
public enum InvalidationSelector: Hashable, Sendable, CustomStringConvertible {
    /// The one entry with this key.
    case key(CacheKey)
    /// Every entry carrying this tag.
    case tag(String)
    /// Every entry whose model matches `model` and whose namespace matches
    /// `namespace` (glob patterns, see ``GlobPattern``; `nil` matches anything).
    case pattern(model: GlobPattern?, namespace: GlobPattern?)
    /// Every entry created strictly before this time.
    case createdBefore(CacheTimestamp)
    /// Every entry of one namespace, and no other.
    case namespace(String)
    /// Every entry.
    case all

    /// Whether `entry` is selected. Stores with their own indexes may answer
    /// without calling this, but must select exactly the same entries.
    public func matches(_ entry: CacheEntry) -> Bool {
        switch self {
        case .key(let key): return entry.key == key
        case .tag(let tag): return entry.tags.contains(tag)
        case .pattern(let model, let namespace):
            return (model?.matches(entry.model) ?? true) && (namespace?.matches(entry.namespace) ?? true)
        case .createdBefore(let time): return entry.createdAt < time
        case .namespace(let namespace): return entry.namespace == namespace
        case .all: return true
        }
    }

    public var description: String {
        switch self {
        case .key(let key): return "key \(key.hex)"
        case .tag(let tag): return "tag \(tag)"
        case .pattern(let model, let namespace):
            return "model \(model?.pattern ?? "*") namespace \(namespace?.pattern ?? "*")"
        case .createdBefore(let time): return "created before \(time)"
        case .namespace(let namespace): return "namespace \(namespace)"
        case .all: return "all"
        }
    }
}

/// Counters and sizes a store reports about itself.
public struct StoreStatistics: Hashable, Sendable {
    /// Live entries (expired entries not yet collected may be included by
    /// stores that expire lazily; ``CacheStore/get(_:)`` never returns them).
    public var entries: Int
    /// Bytes charged against the budget: the sum of ``CacheEntry/weight``.
    public var storedBytes: Int
    /// Bytes the values would take uncompressed: the sum of ``CacheEntry/rawSize``.
    public var rawBytes: Int
    /// Entries removed to stay within the budget, since the store was created.
    public var evictions: Int
    /// Entries removed because their time to live ran out, since the store was created.
    public var expirations: Int
    /// Entries found damaged on read (their checksum did not match), answered
    /// as misses and deleted, since the store was created; always 0 for a
    /// store that keeps no checksums.
    public var corruptEntries: Int

    public init(entries: Int = 0, storedBytes: Int = 0, rawBytes: Int = 0, evictions: Int = 0, expirations: Int = 0, corruptEntries: Int = 0) {
        self.entries = entries
        self.storedBytes = storedBytes
        self.rawBytes = rawBytes
        self.evictions = evictions
        self.expirations = expirations
        self.corruptEntries = corruptEntries
    }
}

/// A place where cache entries live: memory, a SQLite file, Redis.
///
/// Every backend implements exactly these semantics, and every backend runs the
/// same conformance tests:
///
/// - ``get(_:)`` returns the entry stored under a key, or `nil` when there is none
///   or it has expired (an entry with `expiresAt <= now` is never returned;
///   `now` is the store's reading of its clock, which may trail real time by up
///   to a clock tick, as ``MemoryStore``'s ``CacheClock/coarseNow()`` does).
///   A read may count as a use for the store's eviction policy.
/// - ``set(_:)`` stores an entry, replacing any entry with the same key (its
///   tags, expiry and value all replaced). An entry whose ``CacheEntry/weight``
///   exceeds the store's maximum entry size is not stored: `set` throws
///   ``CacheError/Code/entryTooLarge`` and the store is unchanged. A bounded store
///   may evict other entries to make room, or decline to admit the new one; either
///   way the store never holds more than its budget plus one entry.
/// - ``delete(_:)`` removes one entry; it returns whether there was one.
/// - ``invalidate(_:)`` removes every entry the selector matches, and only
///   those, returning how many were removed; it publishes one
///   ``CacheEvent/invalidated(_:count:)`` event.
/// - ``statistics()`` reports entries and bytes.
/// - ``entries()`` streams every live entry once, in no particular order, for
///   export; entries written while it runs may or may not appear.
///
/// Stores are shared by many tasks: every method is safe to call concurrently.
/// A store that cannot reach its backend throws; the ``LLMCache`` facade turns
/// such errors into misses (fail open).
public protocol CacheStore: Sendable {
    /// Returns the live entry stored under `key`, or `nil`.
    func get(_ key: CacheKey) async throws -> CacheEntry?

    /// Stores `entry`, replacing any entry with the same key.
    func set(_ entry: CacheEntry) async throws

    /// Removes the entry under `key`; returns whether one was removed.
    @discardableResult
    func delete(_ key: CacheKey) async throws -> Bool

    /// Removes every entry that `selector` matches; returns how many.
    @discardableResult
    func invalidate(_ selector: InvalidationSelector) async throws -> Int

    /// Entry count, byte sizes, and eviction and expiry counters.
    func statistics() async throws -> StoreStatistics

    /// Every live entry, once each, in no particular order.
    func entries() -> AsyncThrowingStream<CacheEntry, any Error>

    /// Where the store publishes evictions, expirations and invalidations.
    var events: CacheEventBus { get }

    /// Whether every operation completes without waiting on I/O or another
    /// process. ``LLMCache`` skips its time-out guard for such stores, keeping
    /// timers off the hit path. Default `false`.
    var isLocal: Bool { get }

    /// Whether the store's backend is answering, as far as the store knows
    /// without asking it: `false` while a client's circuit breaker has given
    /// up on a server. While it is `false`, an operation a store answers
    /// without its backend (a hit in a memory tier) does not end an outage in
    /// ``LLMCache/storeHealth``, so a store that half works is not reported
    /// as going down and up with every call. Default `true`.
    var isBackendReachable: Bool { get }
}

extension CacheStore {
    public var isLocal: Bool { false }
    public var isBackendReachable: Bool { true }
}

extension CacheStore {
    /// The number of live entries.
    public func count() async throws -> Int { try await statistics().entries }

    /// The bytes charged against the store's budget.
    public func byteSize() async throws -> Int { try await statistics().storedBytes }
}
