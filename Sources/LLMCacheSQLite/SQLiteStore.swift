import Foundation
import GRDB
import LLMCache
import Logging
import Synchronization

/// A ``CacheStore`` in one SQLite file: the persistent default store.
///
/// - Entries survive restarts, with their tags, expiry and semantic records
///   (``semanticRecords(embeddingModel:)`` reloads the latter to rebuild a
///   semantic index at start).
/// - The file is in WAL mode: reads run concurrently on up to
///   ``Configuration/maximumReaders`` connections and never wait for a write;
///   writes are short `BEGIN IMMEDIATE` transactions on one connection. Several
///   processes may open the same file; a write waits up to
///   ``Configuration/busyTimeout`` for another process's write.
/// - Expired entries are never returned, and are deleted a few at a time by
///   later writes through an index on their expiry time.
/// - When the total ``CacheEntry/weight`` exceeds ``Configuration/maximumBytes``,
///   the least recently written entries are evicted in a batch.
///
/// - Every row carries a CRC-32C of its key and value (``EntryChecksum``),
///   checked on each read: a damaged value is a miss, deleted and counted in
///   ``StoreStatistics/corruptEntries``, never served.
///
/// Failures are ``CacheError``s naming the file: `.corruptData` for a damaged
/// file (never deleted; renamed aside under
/// ``Configuration/DamagedFilePolicy/setAside``), `.unsupportedVersion` for a
/// file from a newer release, `.timeout` when another process holds the lock
/// too long, `.backendUnavailable` for a file that cannot be written (opened
/// read-only under ``Configuration/UnwritableFilePolicy/openReadOnly``).
///
/// Thread-safe: every method may be called from any task.
public final class SQLiteStore: CacheStore {
    /// The configuration the store was opened with.
    public let configuration: Configuration
    /// Where the store publishes evictions, expirations, invalidations and
    /// refused entries.
    public let events: CacheEventBus

    let pool: DatabasePool
    /// The connections hits read on; see ``SQLiteReaderPool``.
    let readers: SQLiteReaderPool
    /// The connection entries are stored on; see ``SQLiteWriter``. `nil` when
    /// the file is open read-only.
    let writer: SQLiteWriter?
    let logger: Logger
    /// Counts and logs entries whose checksum does not match.
    let corruptEntries: CorruptEntryReporter

    /// Whether the file was opened read-only (``Configuration/readOnly``, or an
    /// unwritable file under ``Configuration/UnwritableFilePolicy/openReadOnly``):
    /// reads are served, and every write throws `.backendUnavailable`, which
    /// the ``LLMCache`` facade turns into an answer not stored.
    public var isReadOnly: Bool { writer == nil }
    let clock: any CacheClock
    /// The in-process tier (``Configuration/memoryTierBytes``), if any.
    public let memoryTier: MemoryStore?
    /// The file's data version the memory tier was last checked against, and
    /// a generation that moves whenever the tier is emptied or an entry
    /// changes, so a read racing a change does not fill the tier with what it read.
    let tierState = Mutex<(version: Int64?, generation: UInt64)>((nil, 0))
    let evictionCount = Atomic<Int>(0)
    let expirationCount = Atomic<Int>(0)

    /// Expired rows deleted per write: enough to keep up with any realistic
    /// arrival rate of expiries, small enough not to lengthen a write.
    static let purgeBatch = 32

    /// Opens (creating if needed) the file at `configuration.path`, bringing an
    /// older schema up to date.
    ///
    /// A file that is not a healthy SQLite database (not a database at all, a
    /// damaged header, truncated) fails with `.corruptData` and is left
    /// untouched, unless ``Configuration/onDamagedFile`` is
    /// ``Configuration/DamagedFilePolicy/setAside``: then it is renamed beside
    /// itself, an error is logged naming where it went, and an empty cache is
    /// started at `path`. A file this user cannot write fails with
    /// `.backendUnavailable`, unless ``Configuration/onUnwritableFile`` is
    /// ``Configuration/UnwritableFilePolicy/openReadOnly``: then it is opened
    /// read-only (see ``isReadOnly``) and an error is logged saying how to fix it.
    ///
    /// - Parameters:
    ///   - clock: the time entries expire by; the system clock by default.
    ///   - events: where to publish removals; a new bus by default.
    ///   - logger: where a file set aside, a read-only open and damaged
    ///     entries (rate-limited) are reported; label `llm-cache.sqlite` by default.
    /// - Throws: ``CacheError`` `.invalidConfiguration`, `.corruptData`,
    ///   `.unsupportedVersion`, `.timeout` or `.backendUnavailable`.
    public init(
        configuration: Configuration,
        clock: any CacheClock = SystemCacheClock(),
        events: CacheEventBus = CacheEventBus(),
        logger: Logger = Logger(label: "llm-cache.sqlite")
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.clock = clock
        self.events = events
        self.logger = logger
        let path = configuration.path
        corruptEntries = CorruptEntryReporter(logger: logger, store: "SQLite cache \(path)")
        memoryTier = configuration.memoryTierBytes > 0 ? MemoryStore(configuration: .init(maximumBytes: configuration.memoryTierBytes), clock: clock) : nil
        readers = SQLiteReaderPool(path: path, busyTimeout: configuration.busyTimeout, maximumIdle: configuration.maximumReaders)
        let opened = try Self.open(configuration, logger: logger)
        pool = opened.pool
        writer = opened.writer
    }
    /// Opens the pool, retrying while another process holds a lock.
    ///
    /// Switching a new file to WAL (`PRAGMA journal_mode = WAL`, run by
    /// DatabasePool on open) fails with `SQLITE_BUSY` at once, without calling
    /// the busy handler, when another process is opening the same new file:
    /// so two processes starting together would fail. Retrying within the busy
    /// timeout gives the same guarantee as every other statement.
    static func openPool(path: String, configuration: GRDB.Configuration, busyTimeout: Duration) throws -> DatabasePool {
        let deadline = ContinuousClock.now + busyTimeout
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
    }

    /// Opens the file at `path` with default settings (1 GiB budget, WAL,
    /// `synchronous=NORMAL`); see ``init(configuration:clock:events:)``.
    public convenience init(path: String, clock: any CacheClock = SystemCacheClock(), events: CacheEventBus = CacheEventBus(), logger: Logger = Logger(label: "llm-cache.sqlite")) throws {
        try self.init(configuration: Configuration(path: path), clock: clock, events: events, logger: logger)
    }

    // MARK: - CacheStore

    static let selectEntrySQL = """
        SELECT e.namespace, e.model, e.tags, e.created_at, e.expires_at, e.compute_ns, e.encoding, e.raw_size, e.value,
               s.scope, s.text, s.embedding_model, s.vector, e.key, e.checksum, e.id
        FROM entries e LEFT JOIN semantic s ON s.entry_id = e.id
        """

    /// Returns the live entry under `key`, or `nil`.
    ///
    /// A read only: it takes no lock and writes nothing, so hits scale with
    /// reader connections and never wait for writers. It runs synchronously on
    /// one of the store's own reader connections (``SQLiteReaderPool``): a WAL
    /// read never waits for a lock, and GRDB's read API would cost as much as
    /// the query itself.
    ///
    /// An entry whose value does not match its checksum (damaged on disk) is
    /// answered as `nil`, deleted, counted in
    /// ``StoreStatistics/corruptEntries`` and logged (at most once a second).
    public func get(_ key: CacheKey) async throws -> CacheEntry? {
        guard let tier = memoryTier else { return try await read(key) }
        if tierIsCurrent(tier), let entry = tier.lookup(key) { return entry }
        let generation = tierState.withLock { $0.generation }
        guard let entry = try await read(key) else { return nil }
        tierState.withLock { state in
            // Too large for the tier is fine: it is read from the file.
            if state.generation == generation { try? tier.insert(entry) }
        }
        return entry
    }

    private func read(_ key: CacheKey) async throws -> CacheEntry? {
        let found: SQLiteReaderPool.Found
        do {
            found = try readers.entry(for: key, now: clock.now().nanosecondsSinceEpoch)
        } catch {
            throw translate(error, "reading an entry")
        }
        switch found {
        case .none:
            return nil
        case .entry(let entry):
            return entry
        case .damaged(let rowID):
            await dropDamaged(key, rowID: rowID)
            return nil
        }
    }

    /// Deletes a damaged row by its id, so that an entry stored under the same
    /// key since it was read is kept. A failure to delete (a read-only file,
    /// a lock held too long) leaves the row to be found damaged again: it is
    /// never served.
    func dropDamaged(_ key: CacheKey, rowID: Int64) async {
        var removed = false
        if writer != nil {
            removed = (try? await pool.writeWithoutTransaction { db in
                try db.execute(sql: "DELETE FROM entries WHERE id = ? AND key = ?", arguments: [rowID, SQLiteRowCodec.blob(key)])
            }) != nil
        }
        tierForget(.key(key))
        corruptEntries.report(key, removed: removed)
    }

    /// Whether `tier` may answer now. Empties it first when another connection
    /// has written to the file since the last check; `false` (read the file)
    /// while the writing connection is busy, rather than wait for it.
    private func tierIsCurrent(_ tier: MemoryStore) -> Bool {
        guard let version = writer?.dataVersionIfIdle() else { return false }
        tierState.withLock { state in
            guard state.version != version else { return }
            tier.invalidateNow(.all)
            state.version = version
            state.generation &+= 1
        }
        return true
    }

    /// Drops what this store is about to change from the memory tier.
    func tierForget(_ selector: InvalidationSelector) {
        guard let tier = memoryTier else { return }
        tierState.withLock { state in
            tier.invalidateNow(selector)
            state.generation &+= 1
        }
    }

    /// Stores `entry`, replacing any entry with the same key, then evicts the
    /// least recently written entries if the budget is exceeded.
    ///
    /// - Throws: ``CacheError/Code/entryTooLarge`` (store unchanged, a
    ///   ``CacheEvent/rejected(_:reason:)`` event published) when the entry
    ///   weighs more than ``Configuration/maximumEntryWeight``.
    public func set(_ entry: CacheEntry) async throws {
        try await set(contentsOf: [entry])
    }

    /// Stores every entry in one transaction: for imports and warm-up, where one
    /// commit per entry would dominate. Either all are stored or, on error, none.
    ///
    /// - Throws: ``CacheError/Code/entryTooLarge`` before writing anything when
    ///   any entry is over ``Configuration/maximumEntryWeight``.
    public func set(contentsOf entries: [CacheEntry]) async throws {
        for entry in entries where entry.weight > configuration.maximumEntryWeight {
            let reason = "entry weighs \(entry.weight) bytes, over the maximum entry weight of \(configuration.maximumEntryWeight) bytes"
            events.publish(.rejected(entry.key, reason: reason))
            throw CacheError(.entryTooLarge, "\(reason); store a smaller value or raise SQLiteStore.Configuration.maximumEntryWeight")
        }
        guard !entries.isEmpty else { return }
        let now = clock.now().nanosecondsSinceEpoch
        let maximumBytes = configuration.maximumBytes
        let wantKeys = events.hasSubscribers
        let path = configuration.path
        guard let writer else { throw readOnlyError("storing an entry") }
        let removed: Removals
        do {
            removed = try await writer.write(entries, now: now, maximumBytes: maximumBytes, wantKeys: wantKeys, path: path)
        } catch {
            throw translate(error, "writing an entry")
        }
        // After the commit: a read that raced it is kept out of the tier by
        // the generation, and the writer's own commits leave the file's data
        // version as it was.
        for entry in entries { tierForget(.key(entry.key)) }
        publish(removed)
    }

    /// Removes the entry under `key`; returns whether a live one was removed.
    @discardableResult
    public func delete(_ key: CacheKey) async throws -> Bool {
        let now = clock.now().nanosecondsSinceEpoch
        let (live, expired) = try await remove("deleting an entry", now: now) { db in
            try Row.fetchAll(db, sql: "DELETE FROM entries WHERE key = ? RETURNING key, expires_at", arguments: [SQLiteRowCodec.blob(key)])
        }
        tierForget(.key(key))
        publishExpired(expired)
        return live > 0
    }

    /// Removes every entry `selector` matches, in one transaction; returns how
    /// many live entries were removed and publishes one
    /// ``CacheEvent/invalidated(_:count:)`` event.
    ///
    /// Tag, namespace, age and key selectors use an index; a pattern selector
    /// matches the distinct (namespace, model) pairs with ``GlobPattern`` (so
    /// matching is exactly the core's) and deletes each matching pair by index.
    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) async throws -> Int {
        let now = clock.now().nanosecondsSinceEpoch
        let (live, expired) = try await remove("invalidating \(selector)", now: now) { db in
            let returning = " RETURNING key, expires_at"
            switch selector {
            case .key(let key):
                return try Row.fetchAll(db, sql: "DELETE FROM entries WHERE key = ?" + returning, arguments: [SQLiteRowCodec.blob(key)])
            case .tag(let tag):
                return try Row.fetchAll(db, sql: "DELETE FROM entries WHERE id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)" + returning, arguments: [tag])
            case .namespace(let namespace):
                return try Row.fetchAll(db, sql: "DELETE FROM entries WHERE namespace = ?" + returning, arguments: [namespace])
            case .createdBefore(let time):
                return try Row.fetchAll(db, sql: "DELETE FROM entries WHERE created_at < ?" + returning, arguments: [time.nanosecondsSinceEpoch])
            case .all:
                return try Row.fetchAll(db, sql: "DELETE FROM entries" + returning)
            case .pattern(let model, let namespace):
                let pairs = try Row.fetchAll(db, sql: "SELECT DISTINCT namespace, model FROM entries")
                var rows: [Row] = []
                for pair in pairs {
                    let ns: String = pair[0]
                    let m: String = pair[1]
                    guard model?.matches(m) ?? true, namespace?.matches(ns) ?? true else { continue }
                    rows += try Row.fetchAll(db, sql: "DELETE FROM entries WHERE namespace = ? AND model = ?" + returning, arguments: [ns, m])
                }
                return rows
            }
        }
        tierForget(selector)
        publishExpired(expired)
        events.publish(.invalidated(selector, count: live))
        return live
    }

    /// Entries and bytes from totals that triggers keep exact in the file (so
    /// they include other processes' writes); eviction and expiry counters
    /// since this store object was created.
    public func statistics() async throws -> StoreStatistics {
        do {
            let row = try readNow { db in try Row.fetchOne(db, sql: "SELECT entries, stored_bytes, raw_bytes FROM totals WHERE id = 0") }
            return StoreStatistics(
                entries: row?[0] ?? 0,
                storedBytes: row?[1] ?? 0,
                rawBytes: row?[2] ?? 0,
                evictions: evictionCount.load(ordering: .relaxed),
                expirations: expirationCount.load(ordering: .relaxed),
                corruptEntries: corruptEntries.total
            )
        } catch {
            throw translate(error, "reading statistics")
        }
    }

    /// Every live entry once, in key order, read a page at a time as the
    /// consumer asks (a slow consumer holds no transaction open and no more
    /// than one page in memory).
    public func entries() -> AsyncThrowingStream<CacheEntry, any Error> {
        let pager = EntryPager(store: self)
        return AsyncThrowingStream(unfolding: { try await pager.next() })
    }

    // MARK: - Internals

    struct Removals: Sendable {
        var expired: [CacheKey] = []
        var evictedCount = 0
        /// Empty when nobody subscribed to events at the time of the write.
        var evicted: [CacheKey] = []
    }

    /// A synchronous read on a reader connection, outside any transaction (the
    /// callers run one statement, which SQLite makes atomic). Synchronous
    /// because a WAL read never waits for a lock, and the hop through GRDB's
    /// async API would cost more than the query itself.
    func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead(body)
    }

    func readOnlyError(_ operation: String) -> CacheError {
        CacheError(.backendUnavailable, "SQLite cache \(configuration.path) is open read-only, so \(operation) is not possible; make the file, its -wal and -shm companions and its directory writable by this user, then restart")
    }

    func translate(_ error: any Error, _ operation: String) -> any Error {
        Self.translate(error, path: configuration.path, busyTimeout: configuration.busyTimeout, while: operation)
    }

    func publish(_ removed: Removals) {
        publishExpired(removed.expired)
        if removed.evictedCount > 0 {
            evictionCount.add(removed.evictedCount, ordering: .relaxed)
            for key in removed.evicted { events.publish(.evicted(key)) }
        }
    }

    func publishExpired(_ keys: [CacheKey]) {
        guard !keys.isEmpty else { return }
        expirationCount.add(keys.count, ordering: .relaxed)
        for key in keys { events.publish(.expired(key)) }
    }

    /// Runs a `DELETE ... RETURNING key, expires_at` in a write transaction and
    /// splits the removed rows into live ones (counted) and expired ones.
    func remove(
        _ operation: String,
        now: Int64,
        _ delete: @escaping @Sendable (Database) throws -> [Row]
    ) async throws -> (live: Int, expired: [CacheKey]) {
        guard writer != nil else { throw readOnlyError(operation) }
        let path = configuration.path
        do {
            return try await pool.writeWithoutTransaction { db in
                var live = 0
                var expired: [CacheKey] = []
                try db.inTransaction(.immediate) {
                    for row in try delete(db) {
                        let expiresAt: Int64? = row[1]
                        if let expiresAt, expiresAt <= now {
                            expired.append(try SQLiteRowCodec.key(row[0], path: path))
                        } else {
                            live += 1
                        }
                    }
                    return .commit
                }
                return (live, expired)
            }
        } catch {
            throw translate(error, operation)
        }
    }

    /// Decodes a row of ``selectEntrySQL`` whose key the caller has read;
    /// ``SQLiteReaderPool/Found/damaged(rowID:)``, before anything is decoded,
    /// when its value does not match its checksum.
    static func found(_ row: Row, key: CacheKey, path: String) throws -> SQLiteReaderPool.Found {
        if let checksum = row[14] as Int64?, UInt32(truncatingIfNeeded: checksum) != EntryChecksum.of(key: key, value: (row[8] as Data?) ?? Data()) {
            return .damaged(rowID: row[15])
        }
        return .entry(try entry(row, key: key, path: path))
    }

    /// Decodes a row of ``selectEntrySQL``, without checking its checksum.
    static func entry(_ row: Row, key: CacheKey?, path: String) throws -> CacheEntry {
        let encodingName: String = row[6]
        guard let encoding = ValueEncoding(name: encodingName) else {
            throw CacheError(.unsupportedVersion, "SQLite cache \(path) holds a value encoded as '\(encodingName)', which this release of LLMCache does not know; upgrade LLMCache")
        }
        var semantic: SemanticRecord?
        if let scope = row[9] as Data? {
            semantic = SemanticRecord(
                scope: try SQLiteRowCodec.key(scope, path: path),
                text: row[10],
                embeddingModel: row[11],
                vector: try SQLiteRowCodec.vector(row[12], path: path)
            )
        }
        let expiresAt: Int64? = row[4]
        return CacheEntry(
            key: try key ?? SQLiteRowCodec.key(row[13], path: path),
            value: row[8] ?? Data(),
            encoding: encoding,
            rawSize: row[7],
            namespace: row[0],
            model: row[1],
            tags: try SQLiteRowCodec.tags(row[2], path: path),
            createdAt: CacheTimestamp(nanosecondsSinceEpoch: row[3]),
            expiresAt: expiresAt.map { CacheTimestamp(nanosecondsSinceEpoch: $0) },
            computeDuration: .nanoseconds(row[5] as Int64),
            semantic: semantic
        )
    }
}

/// Pages through the entries in key order for ``SQLiteStore/entries()``.
/// Keyset paging by key yields each key at most once even when entries are
/// rewritten meanwhile.
final class EntryPager: Sendable {
    private struct State {
        var buffer: [CacheEntry] = []
        var lastKey: Data?
        var finished = false
    }

    private let store: SQLiteStore
    private let state = Mutex(State())
    static let pageSize = 256

    init(store: SQLiteStore) { self.store = store }

    private enum Step {
        case entry(CacheEntry)
        case done
        case fetch(after: Data?)
    }

    func next() async throws -> CacheEntry? {
        while true {
            let step = state.withLock { state -> Step in
                if let entry = state.buffer.popLast() { return .entry(entry) }
                return state.finished ? .done : .fetch(after: state.lastKey)
            }
            switch step {
            case .entry(let entry):
                return entry
            case .done:
                return nil
            case .fetch(let lastKey):
                let rows = try fetchPage(after: lastKey)
                var page: [CacheEntry] = []
                for (key, found) in rows {
                    switch found {
                    case .entry(let entry): page.append(entry)
                    case .damaged(let rowID): await store.dropDamaged(key, rowID: rowID)
                    case .none: break
                    }
                }
                let now = store.clock.now()
                state.withLock { [page] state in
                    state.finished = rows.count < Self.pageSize
                    if let last = rows.last { state.lastKey = SQLiteRowCodec.blob(last.key) }
                    // Reversed so popLast yields key order.
                    state.buffer = page.reversed().filter { !$0.isExpired(at: now) }
                }
            }
        }
    }

    /// A page of rows in key order, each with its key; damaged ones are
    /// skipped by the caller, not served.
    private func fetchPage(after lastKey: Data?) throws -> [(key: CacheKey, found: SQLiteReaderPool.Found)] {
        let path = store.configuration.path
        do {
            return try store.readNow { db in
                let rows: [Row]
                if let lastKey {
                    rows = try Row.fetchAll(db, sql: SQLiteStore.selectEntrySQL + " WHERE e.key > ? ORDER BY e.key LIMIT ?", arguments: [lastKey, Self.pageSize])
                } else {
                    rows = try Row.fetchAll(db, sql: SQLiteStore.selectEntrySQL + " ORDER BY e.key LIMIT ?", arguments: [Self.pageSize])
                }
                return try rows.map { row -> (key: CacheKey, found: SQLiteReaderPool.Found) in
                    let key = try SQLiteRowCodec.key(row[13] as Data, path: path)
                    return (key, try SQLiteStore.found(row, key: key, path: path))
                }
            }
        } catch {
            throw store.translate(error, "listing entries")
        }
    }
}
