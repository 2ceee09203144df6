import Synchronization

/// A cache store in process memory, bounded by bytes (and optionally by entry
/// count), with W-TinyLFU or LRU eviction, per-entry time to live, and indexes
/// that make invalidation by key, tag and namespace proportional to what is
/// removed.
///
/// Thread-safety: every method may be called from any task or thread at the
/// same time. Entries are spread over independently locked shards (chosen by
/// ``CacheKey/spread``); a hit takes one uncontended-in-the-common-case `Mutex`,
/// never an actor hop. The synchronous ``lookup(_:)`` and ``insert(_:)`` are the
/// fast paths; ``get(_:)`` and ``set(_:)`` are the ``CacheStore`` methods built on
/// them.
///
/// Budgets hold at every moment: after each write the store holds at most
/// ``Configuration/maximumBytes`` bytes (the sum of ``CacheEntry/weight``) and at
/// most ``Configuration/maximumEntries`` entries. Each shard owns an equal part of
/// both budgets.
public final class MemoryStore: CacheStore {
    /// How big the store may grow and how it chooses what to give up.
    public struct Configuration: Sendable, Hashable {
        /// The most bytes (sum of ``CacheEntry/weight``) the store holds.
        /// Default 256 MiB.
        public var maximumBytes: Int
        /// The most entries the store holds, or `nil` for no count limit (the
        /// default): the byte budget alone bounds it.
        public var maximumEntries: Int?
        /// The heaviest entry ``MemoryStore/set(_:)`` accepts; heavier ones throw
        /// ``CacheError/Code/entryTooLarge``. Default 8 MiB, far above a chat
        /// completion yet small enough that one entry cannot flush a large part of
        /// the default budget. The limit in force is at most one shard's share of
        /// ``maximumBytes``: see ``MemoryStore/maximumEntryWeight``.
        public var maximumEntryWeight: Int
        /// Which entries go when the store is full. Default ``EvictionPolicy/wTinyLFU``.
        public var policy: EvictionPolicy
        /// How many independently locked shards to use (rounded down to a power
        /// of two), or `nil` (the default) to choose: up to 8 when every shard still
        /// gets at least 1,024 entries of a count limit and a byte share no smaller
        /// than ``maximumEntryWeight``, otherwise fewer. One shard gives the best
        /// hit ratio for small caches; more shards let threads hit in parallel.
        public var shards: Int?

        /// - Parameters:
        ///   - maximumBytes: default 256 MiB.
        ///   - maximumEntries: default `nil` (no count limit).
        ///   - maximumEntryWeight: default 8 MiB.
        ///   - policy: default ``EvictionPolicy/wTinyLFU``.
        ///   - shards: default `nil` (chosen from the budgets).
        public init(
            maximumBytes: Int = 256 << 20,
            maximumEntries: Int? = nil,
            maximumEntryWeight: Int = 8 << 20,
            policy: EvictionPolicy = .wTinyLFU,
            shards: Int? = nil
        ) {
            self.maximumBytes = maximumBytes
            self.maximumEntries = maximumEntries
            self.maximumEntryWeight = maximumEntryWeight
            self.policy = policy
            self.shards = shards
        }
    }

    /// The configuration the store was created with.
    public let configuration: Configuration
    /// Where the store publishes ``CacheEvent/evicted(_:)``, ``CacheEvent/expired(_:)``,
    /// ``CacheEvent/rejected(_:reason:)`` and ``CacheEvent/invalidated(_:count:)``.
    public let events: CacheEventBus
    /// The heaviest entry the store accepts: the configured
    /// ``Configuration/maximumEntryWeight``, capped at the smallest shard's byte budget.
    public let maximumEntryWeight: Int
    /// The number of shards in use.
    public let shardCount: Int

    let clock: any CacheClock
    let shards: [Shard]
    /// `shards` again, unretained: `shards` keeps them alive as long as the
    /// store, and a hit that borrows its shard from here leaves the shard's
    /// reference count, which every thread's hits would otherwise write twice,
    /// untouched.
    private let unretainedShards: [Unmanaged<Shard>]
    let shardMask: Int

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - configuration: budgets and policy; ``Configuration/init(maximumBytes:maximumEntries:maximumEntryWeight:policy:shards:)``'s defaults by default.
    ///   - clock: the time entries expire by; the system clock by default.
    ///   - events: the bus to publish on; a new one by default.
    /// - Precondition: `maximumBytes`, `maximumEntries` and `maximumEntryWeight` are positive.
    public init(
        configuration: Configuration = Configuration(),
        clock: any CacheClock = SystemCacheClock(),
        events: CacheEventBus = CacheEventBus()
    ) {
        precondition(configuration.maximumBytes > 0, "MemoryStore.Configuration.maximumBytes must be positive, got \(configuration.maximumBytes)")
        precondition(configuration.maximumEntries.map { $0 > 0 } ?? true, "MemoryStore.Configuration.maximumEntries must be positive or nil")
        precondition(configuration.maximumEntryWeight > 0, "MemoryStore.Configuration.maximumEntryWeight must be positive, got \(configuration.maximumEntryWeight)")
        self.configuration = configuration
        self.clock = clock
        self.events = events
        let count = Self.shardCount(for: configuration)
        shardCount = count
        shardMask = count - 1
        var shards: [Shard] = []
        var smallestShareOfBytes = Int.max
        for s in 0..<count {
            let bytes = configuration.maximumBytes / count + (s < configuration.maximumBytes % count ? 1 : 0)
            let entries = configuration.maximumEntries.map { $0 / count + (s < $0 % count ? 1 : 0) } ?? .max
            smallestShareOfBytes = min(smallestShareOfBytes, bytes)
            let limits = ShardLimits(maximumWeight: bytes, maximumCount: entries, policy: configuration.policy)
            shards.append(Shard(ShardState(limits, seed: 0x9e37_79b9_7f4a_7c15 &* UInt64(s + 1))))
        }
        self.shards = shards
        unretainedShards = shards.map { Unmanaged.passUnretained($0) }
        maximumEntryWeight = min(configuration.maximumEntryWeight, smallestShareOfBytes)
    }

    /// Sharding splits the budgets, so each shard must stay large enough to hold
    /// big entries and to keep a meaningful frequency history (see
    /// docs/MEMORY_STORE.md for the measurements behind 8 and 1,024).
    static func shardCount(for configuration: Configuration) -> Int {
        var count: Int
        if let requested = configuration.shards {
            count = 1
            while count * 2 <= max(1, requested) { count *= 2 }
        } else {
            count = 8
            while count > 1 {
                let entriesFit = configuration.maximumEntries.map { $0 / count >= 1024 } ?? true
                let bytesFit = configuration.maximumBytes / count >= min(configuration.maximumEntryWeight, configuration.maximumBytes)
                if entriesFit && bytesFit { break }
                count /= 2
            }
        }
        if let maximumEntries = configuration.maximumEntries {
            while count > maximumEntries { count /= 2 }
        }
        return count
    }

    @inline(__always)
    func shard(for key: CacheKey) -> Shard {
        shards[shardIndex(for: key)]
    }

    @inline(__always)
    private func shardIndex(for key: CacheKey) -> Int {
        // The high bits: the sketch and the hash table mix the low ones.
        Int(truncatingIfNeeded: key.spread >> 40) & shardMask
    }

    // MARK: - Fast paths

    /// Returns the live entry stored under `key`, or `nil`, and records the use for
    /// the eviction policy. Synchronous and allocation-free on a hit.
    public func lookup(_ key: CacheKey) -> CacheEntry? {
        var expired: EventSink?
        let found = unretainedShards[shardIndex(for: key)]._withUnsafeGuaranteedRef { shard in
            shard.state.withLock { state -> CacheEntry? in
                guard let (i, storage) = state.table.find(key) else { return nil }
                let expiresAt = storage._withUnsafeGuaranteedRef { $0.expiresAt?.nanosecondsSinceEpoch ?? .max }
                // Only entries with a time to live pay for reading the clock, and
                // then for its cheap, coarse reading.
                if expiresAt != .max {
                    let now = clock.coarseNow().nanosecondsSinceEpoch
                    if now >= expiresAt {
                        expired = state.removeExpired(i, key: key, now: now, events: events)
                        return nil
                    }
                }
                state.recordHit(i, hash: key.spread)
                return CacheEntry(storage: storage.takeUnretainedValue())
            }
        }
        expired?.publish()
        return found
    }

    /// Stores `entry`, replacing any entry with the same key, then evicts as the
    /// policy says to stay within the budgets (possibly `entry` itself, when the
    /// policy judges it less valuable than what it would displace).
    ///
    /// An entry already expired is not stored (and the entry it would replace is
    /// removed). Synchronous.
    ///
    /// - Throws: ``CacheError/Code/entryTooLarge`` when `entry.weight` exceeds
    ///   ``maximumEntryWeight``; the store is then unchanged and a
    ///   ``CacheEvent/rejected(_:reason:)`` event is published.
    public func insert(_ entry: CacheEntry) throws {
        let weight = entry.weight
        guard weight <= maximumEntryWeight else {
            let message = "entry \(entry.key.hex.prefix(16))… weighs \(weight) bytes, over this MemoryStore's maximum entry weight of \(maximumEntryWeight) bytes"
                + " (Configuration.maximumEntryWeight \(configuration.maximumEntryWeight), capped at maximumBytes \(configuration.maximumBytes) / \(shardCount) shards);"
                + " raise maximumEntryWeight (and maximumBytes if it caps it), or store a smaller or compressed value"
            if events.hasSubscribers { events.publish(.rejected(entry.key, reason: message)) }
            throw CacheError(.entryTooLarge, message)
        }
        let now = clock.now().nanosecondsSinceEpoch
        let key = entry.key
        let hash = key.spread
        var sink = EventSink(events)
        shard(for: key).state.withLock { state in
            state.purgeExpired(now: now, limit: 16, sink: &sink)
            if let expiresAt = entry.expiresAt, now >= expiresAt.nanosecondsSinceEpoch {
                if let i = state.table.node(for: key) { state.remove(i) }
                sink.append(.rejected(key, reason: "already expired when stored"))
                return
            }
            if let i = state.table.node(for: key) {
                state.replace(i, with: entry, weight: weight)
                state.recordAccess(i, hash: hash)
            } else {
                let i = state.allocate(entry, weight: weight)
                state.recordInsert(i, hash: hash)
            }
            state.evict(now: now, sink: &sink)
        }
        if !sink.events.isEmpty { sink.publish() }
    }

    /// Removes the entry under `key`; returns whether a live one was removed.
    /// Synchronous.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        let now = clock.now().nanosecondsSinceEpoch
        var sink = EventSink(events)
        let removed = shard(for: key).state.withLock { state -> Bool in
            guard let i = state.table.node(for: key) else { return false }
            let expired = state.nodes[Int(i)].expiresAt <= now
            state.remove(i)
            if expired {
                state.expirations += 1
                sink.append(.expired(key))
            }
            return !expired
        }
        if !sink.events.isEmpty { sink.publish() }
        return removed
    }

    // MARK: - CacheStore

    /// Returns the live entry stored under `key`, or `nil`: ``lookup(_:)``.
    public func get(_ key: CacheKey) async throws -> CacheEntry? {
        lookup(key)
    }

    /// Stores `entry`, replacing any entry with the same key: ``insert(_:)``.
    public func set(_ entry: CacheEntry) async throws {
        try insert(entry)
    }

    /// Removes the entry under `key`; returns whether a live one was removed.
    @discardableResult
    public func delete(_ key: CacheKey) async throws -> Bool {
        remove(key)
    }

    /// Removes every live entry `selector` matches and returns how many, then
    /// publishes one ``CacheEvent/invalidated(_:count:)`` event.
    ///
    /// `.key`, `.tag` and `.namespace` use indexes and cost in proportion to the
    /// entries removed. `.pattern` tests the namespace pattern once per distinct
    /// namespace and the model pattern once per distinct model, but visits every
    /// entry of the namespaces that match; `.createdBefore` scans every entry.
    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        invalidateNow(selector)
    }

    /// ``invalidate(_:)`` without suspending.
    @discardableResult
    public func invalidateNow(_ selector: InvalidationSelector) -> Int {
        let now = clock.now().nanosecondsSinceEpoch
        var sink = EventSink(events)
        var total = 0
        let targets: ArraySlice<Shard>
        if case .key(let key) = selector {
            targets = [shard(for: key)]
        } else {
            targets = shards[...]
        }
        for shard in targets {
            total += shard.state.withLock { state in
                state.invalidate(selector, now: now, sink: &sink)
            }
        }
        sink.publish()
        events.publish(.invalidated(selector, count: total))
        return total
    }

    /// Entry count, byte sizes, and eviction and expiry counters. Collects expired
    /// entries first, so `entries` counts live entries only.
    public func statistics() async throws -> StoreStatistics {
        currentStatistics()
    }

    /// ``statistics()`` without suspending.
    public func currentStatistics() -> StoreStatistics {
        let now = clock.now().nanosecondsSinceEpoch
        var sink = EventSink(events)
        var total = StoreStatistics()
        for shard in shards {
            shard.state.withLock { state in
                state.purgeExpired(now: now, limit: .max, sink: &sink)
                total.entries += state.count
                total.storedBytes += state.weight
                total.rawBytes += state.rawBytes
                total.evictions += state.evictions
                total.expirations += state.expirations
            }
        }
        sink.publish()
        return total
    }

    /// Every live entry, once each, in no particular order: a snapshot taken when
    /// called (one shard locked at a time), so later writes do not appear.
    public func entries() -> AsyncThrowingStream<CacheEntry, any Error> {
        let now = clock.now().nanosecondsSinceEpoch
        var sink = EventSink(events)
        var snapshot: [CacheEntry] = []
        for shard in shards {
            shard.state.withLock { state in
                state.purgeExpired(now: now, limit: .max, sink: &sink)
                snapshot.reserveCapacity(snapshot.count + state.count)
                for i in state.table.nodes { snapshot.append(state.nodes[Int(i)].entry) }
            }
        }
        sink.publish()
        let entries = snapshot
        return AsyncThrowingStream { continuation in
            for entry in entries { continuation.yield(entry) }
            continuation.finish()
        }
    }
}

extension MemoryStore {
    /// Always true: every operation is a few memory accesses under a lock, so
    /// ``LLMCache`` keeps its time-out guard off this store's hits.
    public var isLocal: Bool { true }
}
