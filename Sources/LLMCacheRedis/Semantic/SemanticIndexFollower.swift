import LLMCache
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps one process's ``SemanticCache`` in step with every other process
/// sharing a ``RedisStore``, by following the store's semantic feed (the
/// stream `<prefix>semantic`; see ``RedisStore/Configuration-swift.struct/SemanticFeed-swift.struct``).
///
/// ``run()`` notes where the feed ends, rebuilds the index from the store,
/// then reads the feed from that point with `XREAD BLOCK` on a connection of
/// its own (a blocked pooled connection would stall other commands):
///
/// - `add`: the entry is read through the store (a ``TieredStore`` copies it
///   into its memory tier) and its vector indexed; an entry already gone or
///   stored without a vector is dropped from the index instead.
/// - `del`: the key's vector is dropped.
/// - `inv`: ``SemanticCache/invalidate(_:)`` with the same selector.
///
/// Messages written through this follower's own store are skipped: the cache
/// that wrote them has applied them already. When the connection fails it
/// reconnects with exponential back-off and carries on from the last message
/// applied. When the feed no longer holds every message since then (trimmed
/// past it, or Redis lost its data), it rebuilds the index from the store
/// instead (``SemanticCache/resynchronize(with:)``), so a long outage costs a
/// rebuild, never a divergent index. Failures are logged at `warning`; the
/// follower never throws out of ``run()``.
///
/// Entries Redis expires on its own are not in the feed; their vectors stay
/// until a lookup matches them and finds the entry gone, or the next rebuild.
///
/// A ServiceLifecycle `Service`: it stops on cancellation or graceful
/// shutdown. Thread-safe.
public final class SemanticIndexFollower: Service, Sendable {
    /// Follower settings. Every default is stated on its property.
    public struct Configuration: Sendable {
        /// How long one `XREAD` waits for new messages before asking again.
        /// The follower's connection allows this plus the client's command
        /// timeout for each reply. Default 5 s.
        public var blockTime: Duration
        /// Most messages read at once. Default 256.
        public var batchSize: Int
        /// The wait before the first reconnection attempt after a failure;
        /// it doubles with each failure in a row. Default 100 ms.
        public var retryDelay: Duration
        /// The longest wait between reconnection attempts. Default 5 s.
        public var maximumRetryDelay: Duration

        public init(blockTime: Duration = .seconds(5), batchSize: Int = 256, retryDelay: Duration = .milliseconds(100), maximumRetryDelay: Duration = .seconds(5)) {
            self.blockTime = blockTime
            self.batchSize = batchSize
            self.retryDelay = retryDelay
            self.maximumRetryDelay = maximumRetryDelay
        }
    }

    private struct State {
        var isFollowing = false
        var isReady = false
        var rebuilds = 0
        var connection: RedisConnection?
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var cancelledWaiters: Set<Int> = []
        var nextWaiter = 0
    }

    /// The index kept in step.
    public let semantic: SemanticCache
    /// The settings the follower was made with.
    public let configuration: Configuration
    private let redis: RedisStore
    private let reader: any CacheStore
    private let state = Mutex(State())
    private let logger: Logger

    /// Follows `store`'s feed; added entries are read through `store`, so its
    /// memory tier holds them too.
    public convenience init(semantic: SemanticCache, store: TieredStore, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "llm-cache.semantic-feed")) throws {
        try self.init(semantic: semantic, redis: store.redis, reader: store, configuration: configuration, logger: logger)
    }

    /// Follows `store`'s feed.
    public convenience init(semantic: SemanticCache, store: RedisStore, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "llm-cache.semantic-feed")) throws {
        try self.init(semantic: semantic, redis: store, reader: store, configuration: configuration, logger: logger)
    }

    private init(semantic: SemanticCache, redis: RedisStore, reader: any CacheStore, configuration: Configuration, logger: Logger) throws {
        guard configuration.blockTime > .zero, configuration.batchSize > 0, configuration.retryDelay > .zero, configuration.maximumRetryDelay >= configuration.retryDelay else {
            throw CacheError(.invalidConfiguration, "SemanticIndexFollower.Configuration needs a positive blockTime, batchSize and retryDelay, and maximumRetryDelay at least retryDelay")
        }
        guard redis.configuration.semanticFeed.isEnabled else {
            throw CacheError(.invalidConfiguration, "the store's semantic feed is off (RedisStore.Configuration.semanticFeed.isEnabled), so there is nothing to follow; turn it on in every process sharing the store")
        }
        self.semantic = semantic
        self.redis = redis
        self.reader = reader
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether the follower is connected and reading the feed right now.
    public var isFollowing: Bool { state.withLock { $0.isFollowing } }

    /// How many times the index has been rebuilt from the store: once at
    /// start, and again after each gap the feed could not fill.
    public var rebuilds: Int { state.withLock { $0.rebuilds } }

    /// Returns once ``run()`` has rebuilt the index for the first time, or
    /// its first attempt has failed (it keeps trying in the background), or it
    /// has stopped; or when the calling task is cancelled. A server awaits it
    /// before taking requests, so the first one already sees the index.
    public func waitUntilReady() async {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.isReady || s.cancelledWaiters.remove(id) != nil { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
                s.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }

    /// Follows the feed until cancelled or graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await withTaskCancellationHandler {
                await follow()
            } onCancel: {
                // Ends a blocked XREAD at once rather than at its timeout.
                let connection = state.withLock { $0.connection }
                connection?.channel.close(promise: nil)
            }
        }
        state.withLock { $0.isFollowing = false }
        markReady()
    }

    // MARK: - The loop

    private func follow() async {
        var position: StreamID?
        var delay = configuration.retryDelay
        // One line when the feed is lost and one when it is back, however many
        // attempts lie between: the store's outage is reported by the cache.
        var lost = false
        let timeout = configuration.blockTime + redis.client.configuration.timeouts.command
        while !Task.isCancelled {
            var connection: RedisConnection?
            do {
                let opened = try await redis.client.dedicatedConnection(commandTimeout: timeout)
                connection = opened
                state.withLock { $0.connection = opened }
                try Task.checkCancellation()
                var current: StreamID
                if let position {
                    current = position
                } else {
                    current = try await resynchronize(opened)
                }
                position = current
                state.withLock { $0.isFollowing = true }
                markReady()
                delay = configuration.retryDelay
                if lost {
                    lost = false
                    logger.info("semantic feed followed again")
                }
                while !Task.isCancelled {
                    current = try await readOnce(opened, after: current) { applied in position = applied }
                    position = current
                }
            } catch {
                if !Task.isCancelled && lost {
                    logger.debug("semantic feed still unreachable", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                } else if !Task.isCancelled {
                    lost = true
                    logger.notice("semantic feed unreachable; other processes' answers are matched by meaning again once it is back", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                }
            }
            state.withLock { s in
                s.isFollowing = false
                s.connection = nil
            }
            if let connection { await connection.close() }
            // A proxy waiting for the first rebuild starts without it; the loop keeps trying.
            markReady()
            if Task.isCancelled { break }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, configuration.maximumRetryDelay)
        }
    }

    /// One read: checks that the feed still holds everything after `position`
    /// (rebuilding when not), then applies what `XREAD` returns. Returns the
    /// new position; `progress` is told after each message applied, so a
    /// failure part way resumes after the last one.
    private func readOnce(_ connection: RedisConnection, after position: StreamID, progress: (StreamID) -> Void) async throws -> StreamID {
        let key = redis.semanticFeedKey
        // In one round trip: the stream's state before the read, then the read.
        let replies = try await connection.pipeline([
            RedisCommand("XINFO", "STREAM", key),
            RedisCommand("XREAD", "COUNT", configuration.batchSize, "BLOCK", Int(configuration.blockTime.wholeMilliseconds), "STREAMS", key, position.description),
        ])
        guard replies.count == 2 else { throw RedisError(.unexpectedReply, "a pipeline of two commands got \(replies.count) replies") }
        if Self.feedMissedMessages(info: replies[0], after: position) {
            logger.info("the semantic feed no longer holds every change since this process last read it; rebuilding the index from the store")
            return try await resynchronize(connection)
        }
        if case .error(let message) = replies[1] { throw RedisError(serverReply: message) }
        var position = position
        for message in try SemanticFeedMessage.messages(inXREADReply: replies[1]) {
            try await apply(message)
            position = message.id
            progress(position)
        }
        return position
    }

    private func apply(_ message: SemanticFeedMessage) async throws {
        guard message.sender != redis.instanceID else { return }
        switch message.change {
        case .add(let key):
            if let entry = try await reader.get(key), entry.semantic != nil {
                semantic.add(entry)
            } else {
                semantic.remove(key)
            }
        case .remove(let key):
            semantic.remove(key)
        case .invalidate(let selector):
            semantic.invalidate(selector)
        case nil:
            logger.debug("skipping a semantic feed message this version does not know", metadata: ["id": "\(message.id)"])
        }
    }

    /// Notes where the feed ends, then makes the index agree with the store.
    /// Messages after that point are read next; those that overlap the
    /// rebuild are applied twice, which changes nothing.
    private func resynchronize(_ connection: RedisConnection) async throws -> StreamID {
        let info = try await connection.pipeline([RedisCommand("XINFO", "STREAM", redis.semanticFeedKey)])
        let position = info.first.flatMap { Self.fields(of: $0)["last-generated-id"]?.string }.flatMap(StreamID.init) ?? .zero
        let start = ContinuousClock.now
        let (indexed, dropped) = try await semantic.resynchronize(with: reader)
        state.withLock { $0.rebuilds += 1 }
        logger.info("semantic index rebuilt from the store", metadata: [
            "vectors": "\(indexed)", "dropped": "\(dropped)", "seconds": "\((ContinuousClock.now - start).seconds)",
        ])
        return position
    }

    private func markReady() {
        let waiters = state.withLock { s in
            s.isReady = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: - Reading XINFO STREAM

    /// Whether messages after `position` may be gone from the feed, given
    /// `XINFO STREAM`'s reply from just before the read.
    static func feedMissedMessages(info: RESPValue, after position: StreamID) -> Bool {
        if case .error = info {
            // No stream: Redis lost its data (or it was deleted). If this
            // process had read anything, the store may have lost entries too.
            return position != .zero
        }
        let fields = fields(of: info)
        if let last = fields["last-generated-id"]?.string.flatMap(StreamID.init), last < position {
            // The stream went back in time: Redis restarted from an older snapshot.
            return true
        }
        if let deleted = fields["max-deleted-entry-id"]?.string.flatMap(StreamID.init) {
            // Redis 7: exact.
            return deleted > position
        }
        // Older servers: the oldest message left is after ours, so some may be lost.
        guard let first = fields["first-entry"]?.elements?.first?.string.flatMap(StreamID.init) else { return false }
        return first > position
    }

    /// The field/value pairs of a RESP2 flat array or a RESP3 map.
    static func fields(of reply: RESPValue) -> [String: RESPValue] {
        guard case .error = reply else {
            var fields: [String: RESPValue] = [:]
            let flat = reply.elements ?? []
            var index = 0
            while index + 1 < flat.count {
                if let name = flat[index].string { fields[name] = flat[index + 1] }
                index += 2
            }
            return fields
        }
        return [:]
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
