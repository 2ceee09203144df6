import Foundation
import LLMCache
import Logging
import NIOCore
import NIOFoundationCompat
import Synchronization

/// A ``CacheStore`` in Redis, shared by every process that points at the same
/// server and key prefix.
///
/// Entries are hashes with Redis's own expiry (`PEXPIREAT`); tags, namespaces,
/// creation times and pending expiries are kept in index sets and sorted sets
/// beside them, updated atomically with each write by one Lua script.
/// Invalidation walks the indexes in batches of ``Configuration/batchSize``
/// entries, each batch one short script, so Redis is never blocked for more
/// than a few milliseconds however many entries go. See docs/REDIS.md for the
/// key layout and record format.
///
/// Every change to the set of entries that carry a semantic vector is also
/// appended to a stream, the semantic feed (see ``Configuration/SemanticFeed-swift.struct``),
/// which ``SemanticIndexFollower`` reads to keep each process's semantic index
/// in step with the others'.
///
/// Redis keeps the time: entries expire on the server's clock. Reads also
/// check `expiresAt` against the store's clock, so an entry is never served at
/// or after its expiry instant.
///
/// Thread-safe; share one store. Operations throw ``CacheError`` with
/// ``CacheError/Code/backendUnavailable`` or ``CacheError/Code/timeout`` when
/// Redis cannot be reached, which the ``LLMCache`` facade turns into misses.
public final class RedisStore: CacheStore {
    /// Store settings.
    public struct Configuration: Sendable {
        /// Prepended to every key the store writes, so several applications (or
        /// caches) share one Redis database without seeing each other's entries.
        /// Default `"llmcache:"`.
        public var keyPrefix: String
        /// The largest ``CacheEntry/weight`` stored; larger entries throw
        /// ``CacheError/Code/entryTooLarge``. Default 8 MiB.
        public var maximumEntryWeight: Int
        /// Entries handled per invalidation step (one SSCAN/SCAN page and one
        /// script call). Smaller keeps each Redis pause shorter; 128 keeps a
        /// batch to a few milliseconds even on a busy machine. Default 128.
        public var batchSize: Int
        /// The stream of semantic index changes. See ``SemanticFeed-swift.struct``.
        public var semanticFeed: SemanticFeed

        /// The semantic feed: the stream `<prefix>semantic`, to which the store
        /// appends, in the same script as the write, an `add` for every entry
        /// stored with a semantic record and a `del` for every such entry
        /// deleted or replaced by one without; and an `inv` message after each
        /// invalidation. ``SemanticIndexFollower`` reads it.
        public struct SemanticFeed: Sendable {
            /// Whether the store writes the feed. Default `true`. Turn it off
            /// only where no process follows it (nothing else changes).
            public var isEnabled: Bool
            /// About how many messages the stream keeps (`XADD MAXLEN ~`): a
            /// follower that was away for more messages than this rebuilds its
            /// index from the store instead of catching up. A message is about
            /// 100 bytes, so the default 100,000 costs some 10 MB of Redis
            /// memory — a few percent of the entries whose vectors it describes.
            public var maximumLength: Int

            public init(isEnabled: Bool = true, maximumLength: Int = 100_000) {
                self.isEnabled = isEnabled
                self.maximumLength = maximumLength
            }
        }

        public init(keyPrefix: String = "llmcache:", maximumEntryWeight: Int = 8 << 20, batchSize: Int = 128, semanticFeed: SemanticFeed = SemanticFeed()) {
            self.keyPrefix = keyPrefix
            self.maximumEntryWeight = maximumEntryWeight
            self.batchSize = batchSize
            self.semanticFeed = semanticFeed
        }
    }

    /// The client the store talks through.
    public let client: RedisClient
    /// The settings the store was made with.
    public let configuration: Configuration
    public let events = CacheEventBus()
    /// Identifies this store object in the semantic feed, so a follower can
    /// skip the changes its own process made (and has applied already).
    /// Random per instance.
    public let instanceID: String
    /// The semantic feed's stream: the prefix + `semantic`.
    public var semanticFeedKey: String { prefix + "semantic" }
    private let clock: any CacheClock
    let logger: Logger
    /// Counts and logs entries whose checksum does not match; per process.
    let corruptEntries: CorruptEntryReporter
    private let scriptSHA = Mutex<String?>(nil)
    let prefix: String

    /// Whether Redis answered the client's latest command (``RedisClient/isReachable``).
    public var isBackendReachable: Bool { client.isReachable }

    /// Creates a store over `client`.
    ///
    /// - Parameters:
    ///   - clock: the time reads compare `expiresAt` with; default the system clock.
    ///   - logger: a semantic feed message that could not be written is logged at `warning`.
    /// - Throws: ``CacheError/Code/invalidConfiguration`` for an empty prefix or
    ///   non-positive sizes.
    public init(
        client: RedisClient,
        configuration: Configuration = Configuration(),
        clock: any CacheClock = SystemCacheClock(),
        logger: Logger = Logger(label: "llm-cache.redis")
    ) throws {
        guard !configuration.keyPrefix.isEmpty else {
            throw CacheError(.invalidConfiguration, "RedisStore.Configuration.keyPrefix is empty; use a prefix such as \"llmcache:\" so the store's keys stay apart from others")
        }
        guard configuration.maximumEntryWeight > 0, configuration.batchSize > 0, configuration.semanticFeed.maximumLength > 0 else {
            throw CacheError(.invalidConfiguration, "maximumEntryWeight (\(configuration.maximumEntryWeight)), batchSize (\(configuration.batchSize)) and semanticFeed.maximumLength (\(configuration.semanticFeed.maximumLength)) must be positive")
        }
        self.client = client
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        corruptEntries = CorruptEntryReporter(logger: logger, store: "Redis store (prefix \(configuration.keyPrefix))")
        self.prefix = configuration.keyPrefix
        var generator = SystemRandomNumberGenerator()
        self.instanceID = String(generator.next(), radix: 36)
    }

    /// The script's feed arguments: who writes, and the stream's length (0: no feed).
    var feedArguments: [any RESPArgument] {
        [instanceID, configuration.semanticFeed.isEnabled ? configuration.semanticFeed.maximumLength : 0]
    }

    func entryKey(_ key: CacheKey) -> String { prefix + "e:" + key.hex }

    // MARK: - CacheStore

    /// The live entry under `key`, or `nil`.
    ///
    /// An entry whose value does not match its checksum (damaged in Redis's
    /// memory or its persistence files, or written by hand) is answered as
    /// `nil`, deleted, counted in ``StoreStatistics/corruptEntries`` and logged
    /// (at most once a second).
    public func get(_ key: CacheKey) async throws -> CacheEntry? {
        let reply = try await run { () throws(RedisError) in try await client.send("HGETALL", entryKey(key)) }
        switch try RedisRecord.decode(reply, key: key) {
        case .none:
            return nil
        case .damaged:
            await dropDamaged(key)
            return nil
        case .entry(let entry):
            return entry.isExpired(at: clock.now()) ? nil : entry
        }
    }

    /// Deletes a damaged entry through the script, so the counters and the
    /// semantic feed follow. An entry another process stored under the key
    /// between the read and the delete goes too: one more miss, never a wrong
    /// answer. A failed delete leaves it to be found damaged again.
    func dropDamaged(_ key: CacheKey) async {
        let removed = (try? await delete(key)) != nil
        corruptEntries.report(key, removed: removed)
    }

    public func set(_ entry: CacheEntry) async throws {
        let weight = entry.weight
        guard weight <= configuration.maximumEntryWeight else {
            let reason = "weight \(weight) bytes exceeds the maximum entry size of \(configuration.maximumEntryWeight) bytes"
            events.publish(.rejected(entry.key, reason: reason))
            throw CacheError(.entryTooLarge, "entry \(entry.key.hex): \(reason); raise RedisStore.Configuration.maximumEntryWeight or store smaller values")
        }
        if entry.isExpired(at: clock.now()) {
            // Storing an already-expired entry replaces the old one with nothing.
            _ = try await script(["del", prefix, entry.key.hex] + feedArguments)
            return
        }
        var arguments: [any RESPArgument] = ["set", prefix, entry.key.hex]
        arguments.append(entry.expiresAt.map { String(Self.milliseconds(ceilingOf: $0)) } ?? "")
        arguments.append(Self.milliseconds(floorOf: entry.createdAt))
        arguments.append(entry.namespace)
        arguments.append(weight)
        arguments.append(entry.rawSize)
        arguments.append(entry.semantic == nil ? 0 : 1)
        arguments += feedArguments
        let tags = Array(Set(entry.tags))
        arguments.append(tags.count)
        arguments += tags as [any RESPArgument]
        arguments += try RedisRecord.fields(of: entry)
        _ = try await script(arguments)
    }

    @discardableResult
    public func delete(_ key: CacheKey) async throws -> Bool {
        try await script(["del", prefix, key.hex] + feedArguments).int == 1
    }

    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        let count: Int
        switch selector {
        case .key(let key):
            count = try await delete(key) ? 1 : 0
        case .tag(let tag):
            count = try await invalidateSet(prefix + "tag:" + tag, mode: "tag", argument: tag)
        case .namespace(let namespace):
            count = try await invalidateSet(prefix + "ns:" + namespace, mode: "ns", argument: namespace)
            _ = try await script(["prune", prefix, namespace])
        case .createdBefore(let cutoff):
            count = try await invalidateCreated(before: cutoff)
        case .pattern(let model, let namespace):
            count = try await invalidateMatching(model: model, namespace: namespace)
        case .all:
            count = try await invalidateAll()
        }
        await publishToSemanticFeed(selector)
        events.publish(.invalidated(selector, count: count))
        return count
    }

    public func statistics() async throws -> StoreStatistics {
        // Settle entries Redis has expired, so the counters leave them out.
        while try await script(["reap", prefix, configuration.batchSize]).int == configuration.batchSize {}
        let reply = try await run { () throws(RedisError) in
            try await client.send("HMGET", prefix + "stats", "entries", "stored", "raw", "expired")
        }
        let values = (reply.elements ?? []).map { $0.int ?? 0 }
        guard values.count == 4 else {
            throw CacheError(.corruptData, "the statistics hash \(prefix)stats holds unexpected data (\(reply))")
        }
        return StoreStatistics(entries: values[0], storedBytes: values[1], rawBytes: values[2], evictions: 0, expirations: values[3], corruptEntries: corruptEntries.total)
    }

    public func entries() -> AsyncThrowingStream<CacheEntry, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    // SCAN may return a key twice; yield each once.
                    var seen = Set<CacheKey>()
                    var cursor = "0"
                    let marker = prefix + "e:"
                    repeat {
                        let page = try await scan(cursor: cursor, match: Self.escapeGlob(marker) + "*")
                        cursor = page.cursor
                        let keys = page.keys.compactMap { CacheKey(hex: String($0.dropFirst(marker.count))) }
                        guard !keys.isEmpty else { continue }
                        let replies = try await run { () throws(RedisError) in
                            try await client.pipeline(keys.map { RedisCommand("HGETALL", entryKey($0)) })
                        }
                        let now = clock.now()
                        for (key, reply) in zip(keys, replies) where !seen.contains(key) {
                            let entry: CacheEntry
                            switch try RedisRecord.decode(reply, key: key) {
                            case .none: continue
                            case .damaged:
                                await dropDamaged(key)
                                continue
                            case .entry(let decoded): entry = decoded
                            }
                            guard !entry.isExpired(at: now) else { continue }
                            seen.insert(key)
                            continuation.yield(entry)
                        }
                    } while cursor != "0"
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: - Invalidation in batches

    /// Walks the set `index` with SSCAN and removes, a batch at a time, the
    /// members the script confirms still match.
    private func invalidateSet(_ index: String, mode: String, argument: String) async throws -> Int {
        var removed = 0
        var cursor = "0"
        repeat {
            let reply = try await run { () throws(RedisError) in
                try await client.send("SSCAN", index, cursor, "COUNT", configuration.batchSize)
            }
            let (next, members) = try Self.scanPage(reply)
            cursor = next
            for batch in members.chunked(configuration.batchSize) {
                removed += try await runBatch(mode: mode, argument: argument, index: index, kind: "set", members: batch).removed
            }
        } while cursor != "0"
        return removed
    }

    private func invalidateCreated(before cutoff: CacheTimestamp) async throws -> Int {
        let index = prefix + "created"
        // Scores are whole milliseconds, so members in the cut-off's own
        // millisecond are candidates that the script checks at full precision.
        let maximumScore = Self.milliseconds(floorOf: cutoff)
        let exact = RedisRecord.createdField(cutoff)
        var removed = 0
        var offset = 0
        while true {
            let reply = try await run { () throws(RedisError) in
                try await client.send("ZRANGEBYSCORE", index, "-inf", maximumScore, "LIMIT", offset, configuration.batchSize)
            }
            let members = (reply.elements ?? []).compactMap(\.string)
            if members.isEmpty { break }
            let result = try await runBatch(mode: "before", argument: exact, index: index, kind: "zset", members: members)
            removed += result.removed
            // Members kept are younger than the cut-off and stay in the index: skip them next time.
            offset += result.kept
            if members.count < configuration.batchSize { break }
        }
        return removed
    }

    private func invalidateMatching(model: GlobPattern?, namespace: GlobPattern?) async throws -> Int {
        let namespaces = try await allMembers(prefix + "nss").filter { namespace?.matches($0) ?? true }
        var removed = 0
        for name in namespaces {
            let index = prefix + "ns:" + name
            var cursor = "0"
            repeat {
                let reply = try await run { () throws(RedisError) in
                    try await client.send("SSCAN", index, cursor, "COUNT", configuration.batchSize)
                }
                let (next, members) = try Self.scanPage(reply)
                cursor = next
                for batch in members.chunked(configuration.batchSize) {
                    let models = try await run { () throws(RedisError) in
                        try await client.pipeline(batch.map { RedisCommand("HGET", prefix + "e:" + $0, "o") })
                    }
                    var arguments: [String] = []
                    for (hex, reply) in zip(batch, models) {
                        guard let entryModel = reply.string, model?.matches(entryModel) ?? true else { continue }
                        arguments += [hex, entryModel]
                    }
                    if arguments.isEmpty { continue }
                    removed += try await runBatch(mode: "model", argument: name, index: index, kind: "set", members: arguments).removed
                }
            } while cursor != "0"
            _ = try await script(["prune", prefix, name])
        }
        return removed
    }

    private func invalidateAll() async throws -> Int {
        let marker = prefix + "e:"
        var removed = 0
        var cursor = "0"
        repeat {
            let page = try await scan(cursor: cursor, match: Self.escapeGlob(marker) + "*")
            cursor = page.cursor
            let members = page.keys.map { String($0.dropFirst(marker.count)) }
            for batch in members.chunked(configuration.batchSize) {
                removed += try await runBatch(mode: "any", argument: "", index: "", kind: "", members: batch).removed
            }
        } while cursor != "0"
        // Whatever the indexes still hold refers to entries that are gone.
        for name in try await allMembers(prefix + "nss") {
            _ = try await script(["prune", prefix, name])
        }
        while try await script(["reap", prefix, configuration.batchSize]).int == configuration.batchSize {}
        return removed
    }

    private func runBatch(mode: String, argument: String, index: String, kind: String, members: [String]) async throws -> (removed: Int, kept: Int) {
        let reply = try await script(["batch", prefix, mode, argument, index, kind] + members as [any RESPArgument])
        let counts = (reply.elements ?? []).compactMap(\.int)
        guard counts.count == 2 else { throw CacheError(.corruptData, "the invalidation script answered \(reply)") }
        return (counts[0], counts[1])
    }

    // MARK: - Redis plumbing

    private func allMembers(_ set: String) async throws -> [String] {
        var members: [String] = []
        var cursor = "0"
        repeat {
            let reply = try await run { () throws(RedisError) in try await client.send("SSCAN", set, cursor, "COUNT", configuration.batchSize) }
            let (next, page) = try Self.scanPage(reply)
            cursor = next
            members += page
        } while cursor != "0"
        return Array(Set(members))
    }

    private func scan(cursor: String, match: String) async throws -> (cursor: String, keys: [String]) {
        let reply = try await run { () throws(RedisError) in
            try await client.send("SCAN", cursor, "MATCH", match, "COUNT", configuration.batchSize)
        }
        let (next, keys) = try Self.scanPage(reply)
        return (next, keys)
    }

    private static func scanPage(_ reply: RESPValue) throws -> (String, [String]) {
        guard let parts = reply.elements, parts.count == 2, let cursor = parts[0].string, let members = parts[1].elements else {
            throw CacheError(.corruptData, "a SCAN reply had an unexpected shape: \(reply)")
        }
        return (cursor, members.compactMap(\.string))
    }

    /// Runs the store's script, loading it first when the server does not have
    /// it (first use, or after a restart or SCRIPT FLUSH).
    private func script(_ arguments: [any RESPArgument]) async throws -> RESPValue {
        try await run { () throws(RedisError) in
            for attempt in 0..<2 {
                let sha: String
                if let known = scriptSHA.withLock({ $0 }) {
                    sha = known
                } else {
                    guard let loaded = try await client.send("SCRIPT", "LOAD", Self.script).string else {
                        throw RedisError(.unexpectedReply, "SCRIPT LOAD did not return a digest")
                    }
                    scriptSHA.withLock { $0 = loaded }
                    sha = loaded
                }
                do throws(RedisError) {
                    return try await client.send(RedisCommand("EVALSHA", arguments: [sha, 0] + arguments))
                } catch where error.serverCode == "NOSCRIPT" && attempt == 0 {
                    scriptSHA.withLock { $0 = nil }
                }
            }
            throw RedisError(.unexpectedReply, "the store's script could not be loaded")
        }
    }

    /// Runs a Redis call, turning client errors into the ``CacheError``s stores throw.
    private func run<Result>(_ body: () async throws(RedisError) -> Result) async throws(CacheError) -> Result {
        do {
            return try await body()
        } catch {
            let endpoint = client.configuration.endpoint
            switch error.code {
            case .timeout:
                throw CacheError(.timeout, "Redis at \(endpoint) did not answer in time: \(error.message)")
            case .server where error.serverCode == "OOM" || error.message.contains("OOM command not allowed"):
                // Redis 7 passes a script's OOM on as such; 6 wraps it in ERR.
                throw CacheError(
                    .storeFull,
                    "Redis at \(endpoint) is full (maxmemory reached under the noeviction policy) and refused to store the entry; entries already stored are intact. Raise maxmemory, or let Redis evict (maxmemory-policy volatile-lru or allkeys-lru; docs/REDIS.md, \"Sizing Redis\")"
                )
            case .server:
                throw CacheError(.backendUnavailable, "Redis at \(endpoint) refused the command: \(error.message)")
            default:
                throw CacheError(.backendUnavailable, "Redis at \(endpoint) is unavailable: \(error.message)")
            }
        }
    }

    static func milliseconds(floorOf time: CacheTimestamp) -> Int64 {
        let ns = time.nanosecondsSinceEpoch
        return ns >= 0 ? ns / 1_000_000 : -((-ns + 999_999) / 1_000_000)
    }

    static func milliseconds(ceilingOf time: CacheTimestamp) -> Int64 {
        -milliseconds(floorOf: CacheTimestamp(nanosecondsSinceEpoch: -time.nanosecondsSinceEpoch))
    }

    /// `text` with Redis glob metacharacters escaped, for SCAN MATCH.
    static func escapeGlob(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
