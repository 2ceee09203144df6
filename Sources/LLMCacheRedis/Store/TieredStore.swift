import LLMCache
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A ``MemoryStore`` in front of a ``RedisStore``: hits on hot entries are
/// answered in-process, and every process sharing the Redis store keeps its
/// memory tier coherent through an invalidation channel (Redis pub/sub).
///
/// - Reads try the memory tier, then Redis; an entry read from Redis is copied
///   into memory.
/// - Writes, deletes and invalidations go to Redis first, then to this
///   process's memory tier, then are broadcast; every other process drops the
///   same entries from its memory tier when the message arrives (milliseconds).
/// - The memory tier is trusted only while the subscription is up: before
///   ``run()`` has subscribed, and whenever the subscription is lost, reads go
///   to Redis and the memory tier is emptied, so a message missed during an
///   outage can never leave a stale copy behind.
/// - A read or write that races an invalidation message, or a lost and
///   renewed subscription (whose messages in between are lost), does not
///   populate the memory tier: a generation count, moved by every message
///   and every change of subscription, detects the race.
///
/// Run it as a ServiceLifecycle `Service` (or call ``run()`` in a task): that
/// keeps the subscription. Thread-safe.
public final class TieredStore: CacheStore, Service {
    /// The in-process tier.
    public let memory: MemoryStore
    /// The shared tier.
    public let redis: RedisStore
    public let events = CacheEventBus()
    /// The pub/sub channel invalidations travel on: the Redis store's prefix + `invalidations`.
    public let channel: String
    private let sender: String
    let state = TierState()
    private let logger: Logger
    private let hooks: Hooks

    /// Points where tests hold an operation to interleave it with others.
    struct Hooks: Sendable {
        /// After a read from Redis, before the entry may be copied into memory.
        var afterRedisRead: @Sendable () async -> Void = {}
        /// After a write to Redis, before the entry may be copied into memory.
        var afterRedisWrite: @Sendable () async -> Void = {}
    }

    /// Creates a tiered store; call ``run()`` to subscribe to invalidations.
    public convenience init(memory: MemoryStore, redis: RedisStore, logger: Logger = Logger(label: "llm-cache.tiered")) {
        self.init(memory: memory, redis: redis, logger: logger, hooks: Hooks())
    }

    init(memory: MemoryStore, redis: RedisStore, logger: Logger, hooks: Hooks) {
        self.memory = memory
        self.redis = redis
        self.channel = redis.prefix + "invalidations"
        self.logger = logger
        self.hooks = hooks
        var generator = SystemRandomNumberGenerator()
        self.sender = String(generator.next(), radix: 36)
    }

    /// Whether this process's memory tier is kept coherent right now.
    public var isSubscribed: Bool { state.trusted.load(ordering: .acquiring) }

    public func get(_ key: CacheKey) async throws -> CacheEntry? {
        if isSubscribed, let entry = memory.lookup(key) { return entry }
        let generation = state.generation.load(ordering: .acquiring)
        guard let entry = try await redis.get(key) else { return nil }
        await hooks.afterRedisRead()
        if isSubscribed, state.generation.load(ordering: .acquiring) == generation {
            // Too large for memory is fine: it stays in Redis only.
            try? memory.insert(entry)
        }
        return entry
    }

    public func set(_ entry: CacheEntry) async throws {
        let generation = state.generation.load(ordering: .acquiring)
        try await redis.set(entry)
        await hooks.afterRedisWrite()
        _ = memory.remove(entry.key)
        // Another process's invalidation may have removed the entry from
        // Redis since it was written; then it is not copied into memory.
        if isSubscribed, state.generation.load(ordering: .acquiring) == generation { try? memory.insert(entry) }
        await broadcast("k" + entry.key.hex)
    }

    @discardableResult
    public func delete(_ key: CacheKey) async throws -> Bool {
        let removed = try await redis.delete(key)
        _ = memory.remove(key)
        await broadcast("k" + key.hex)
        return removed
    }

    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        let count = try await redis.invalidate(selector)
        apply(Self.message(for: selector))
        await broadcast(Self.message(for: selector))
        events.publish(.invalidated(selector, count: count))
        return count
    }

    public func statistics() async throws -> StoreStatistics { try await redis.statistics() }

    /// Whether Redis answered the client's latest command (``RedisClient/isReachable``):
    /// a memory-tier hit while it did not says nothing about Redis.
    public var isBackendReachable: Bool { redis.isBackendReachable }

    public func entries() -> AsyncThrowingStream<CacheEntry, any Error> { redis.entries() }

    // MARK: - Invalidation channel

    /// Messages: `k<hex>` one key, `t<tag>` one tag, `n<namespace>` one
    /// namespace, `*` everything (patterns and ages are not worth matching
    /// remotely: dropping the memory tier is always correct).
    static func message(for selector: InvalidationSelector) -> String {
        switch selector {
        case .key(let key): return "k" + key.hex
        case .tag(let tag): return "t" + tag
        case .namespace(let namespace): return "n" + namespace
        case .pattern, .createdBefore, .all: return "*"
        }
    }

    private func apply(_ message: String) {
        state.generation.add(1, ordering: .releasing)
        let body = String(message.dropFirst())
        switch message.first {
        case "k": if let key = CacheKey(hex: body) { _ = memory.remove(key) }
        case "t": _ = memory.invalidateNow(.tag(body))
        case "n": _ = memory.invalidateNow(.namespace(body))
        default: _ = memory.invalidateNow(.all)
        }
    }

    private func broadcast(_ message: String) async {
        do {
            try await redis.client.send("PUBLISH", channel, sender + " " + message)
        } catch {
            // Peers that miss a message are not left stale for long: losing the
            // connection drops their subscription, which empties their memory tier.
            logger.warning("could not broadcast an invalidation", metadata: ["error": "\(error)"])
        }
    }

    /// Keeps the subscription to the invalidation channel until cancelled or
    /// graceful shutdown, resubscribing after failures with back-off from
    /// 50 ms to ``resubscribeLimit``. A lost subscription is logged once, at
    /// `notice`, and its return once, at `info`: the cache above reports the
    /// store's outage itself, and the attempts in between are `debug`.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var delay = Duration.milliseconds(50)
            var lost = false
            while !Task.isCancelled {
                do {
                    let subscription = try await redis.client.subscribe(to: [channel])
                    // Anything cached before the subscription was up may have
                    // been invalidated meanwhile, and so may what a read or
                    // write in flight since then is about to copy into memory.
                    _ = memory.invalidateNow(.all)
                    state.generation.add(1, ordering: .releasing)
                    state.subscriptions.add(1, ordering: .releasing)
                    state.trusted.store(true, ordering: .releasing)
                    delay = .milliseconds(50)
                    if lost {
                        lost = false
                        logger.info("invalidation subscription restored; the memory tier serves again")
                    }
                    for try await message in subscription {
                        let text = message.text
                        guard let space = text.firstIndex(of: " ") else { continue }
                        if text[..<space] == sender { continue }
                        apply(String(text[text.index(after: space)...]))
                    }
                } catch {
                    if lost {
                        logger.debug("invalidation subscription still down", metadata: ["error": "\(error)"])
                    } else {
                        lost = true
                        logger.notice("invalidation subscription lost; serving from Redis only until it is back", metadata: ["error": "\(error)"])
                    }
                }
                state.trusted.store(false, ordering: .releasing)
                state.generation.add(1, ordering: .releasing)
                _ = memory.invalidateNow(.all)
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, Self.resubscribeLimit)
            }
        }
        state.trusted.store(false, ordering: .releasing)
    }

    /// The longest wait between attempts to resubscribe: 1 s. Attempts while
    /// the client's circuit breaker is open fail at once without touching the
    /// network, so a short limit costs nothing and brings the memory tier back
    /// within about a second of Redis.
    static let resubscribeLimit = Duration.seconds(1)
}

/// The tiered store's shared flags, as atomics read on every lookup.
final class TierState: Sendable {
    let trusted = Atomic<Bool>(false)
    /// Moved by every invalidation message applied and every change of subscription.
    let generation = Atomic<Int>(0)
    /// How many times the subscription has been (re)established.
    let subscriptions = Atomic<Int>(0)
}
