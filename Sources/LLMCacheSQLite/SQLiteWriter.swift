import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import LLMCache
import Synchronization

/// The connection ``SQLiteStore/set(contentsOf:)`` writes on, with its
/// statements prepared once, and the checkpoints that keep its WAL short.
///
/// With `synchronous=NORMAL`, a write is tried at once on the calling thread,
/// without waiting for any lock: a free connection and a free database lock make it one transaction
/// and no thread hop. Through GRDB's async write API every write hopped to the
/// writer's dispatch queue and back (docs/SQLITE_STORE.md, "What bounds a
/// write"). When the connection is busy with another task's write, or
/// another connection or process holds the database lock, the write goes to a
/// dispatch queue of its own and waits there, up to the busy timeout, as
/// before: a cooperative thread never waits for a lock.
///
/// With `synchronous=NORMAL`, checkpoints (copying the WAL into the database
/// file, two `fsync`s each, the only `fsync`s of that mode) run on another
/// connection in the background instead of inside a committing write; see
/// ``Checkpointer``. With `synchronous=FULL` the connection keeps SQLite's own
/// checkpoint after the commit that takes the WAL past 1,000 pages: there every
/// commit waits for its own `fsync` anyway, and a WAL kept short is rewritten
/// in place, while one that grows makes each commit's `fsync` also write the
/// file's new size, which made such writes several times slower
/// (docs/SQLITE_STORE.md, "Concurrency").
final class SQLiteWriter: Sendable {
    private let connection: Mutex<Connection>
    private let queue = DispatchQueue(label: "LLMCache.SQLiteStore.writer")
    private let checkpointer: Checkpointer
    /// Whether a write may run on the calling thread. Only without `fsync`s on
    /// the commit path (NORMAL with background checkpoints): a FULL commit waits
    /// milliseconds for the disk, which must not hold a cooperative thread.
    private let writesInline: Bool

    /// Frames (pages) in the WAL from which a background checkpoint is asked
    /// for: SQLite's own automatic checkpoint threshold.
    static let checkpointFrames: Int32 = 1000
    /// Frames from which the writer checkpoints itself, as SQLite would have at
    /// `checkpointFrames`: a checkpoint that runs while writes go on copies
    /// what is there but cannot let the WAL start over from its beginning, so
    /// this bounds the file (about 32 MB at 4 KB pages); most of it is already
    /// copied by then, leaving this checkpoint little to do.
    static let writerCheckpointFrames: Int32 = 8000

    /// Opens the writing connection on a file already in WAL mode with its
    /// schema up to date; `backgroundCheckpoints` for `synchronous=NORMAL`.
    init(path: String, synchronous: String, busyTimeout: Duration, backgroundCheckpoints: Bool) throws {
        checkpointer = Checkpointer(path: path)
        writesInline = backgroundCheckpoints
        connection = Mutex(try Connection(path: path, synchronous: synchronous, busyTimeout: busyTimeout, checkpointer: backgroundCheckpoints ? checkpointer : nil))
    }

    /// Runs one transaction storing `entries` (see ``Connection/write(_:now:maximumBytes:wantKeys:path:)``).
    func write(_ entries: [CacheEntry], now: Int64, maximumBytes: Int, wantKeys: Bool, path: String) async throws -> SQLiteStore.Removals {
        if writesInline {
            let attempt = try connection.withLockIfAvailable { connection -> SQLiteStore.Removals? in
                try connection.write(entries, now: now, maximumBytes: maximumBytes, wantKeys: wantKeys, path: path, wait: false)
            }
            if let removed = attempt ?? nil { return removed }
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    try self.connection.withLock { connection in
                        // With waiting allowed, a transaction always runs.
                        try connection.write(entries, now: now, maximumBytes: maximumBytes, wantKeys: wantKeys, path: path, wait: true)!
                    }
                })
            }
        }
    }

    /// `PRAGMA data_version` on the writing connection, or `nil` when the
    /// connection is busy with a write (the caller does not wait for it). The
    /// value changes when another connection — another process, or this
    /// store's deletes and invalidations — has committed since the last call;
    /// the writer's own commits do not change it.
    func dataVersionIfIdle() -> Int64? {
        connection.withLockIfAvailable { try? $0.dataVersion() } ?? nil
    }

    /// The writing connection's `PRAGMA synchronous`: 1 for NORMAL, 2 for FULL.
    func synchronousLevel() throws -> Int {
        try connection.withLock { try $0.synchronousLevel() }
    }

    /// A read-write SQLite connection and the statements of a write.
    ///
    /// `@unchecked Sendable`: only used under ``SQLiteWriter``'s mutex, one
    /// thread at a time, hence opened with `SQLITE_OPEN_NOMUTEX`.
    final class Connection: @unchecked Sendable {
        private let db: OpaquePointer
        private let busyMilliseconds: Int32
        private let checkpointer: Checkpointer?
        private var statements: [String: OpaquePointer] = [:]

        init(path: String, synchronous: String, busyTimeout: Duration, checkpointer: Checkpointer?) throws {
            db = try SQLiteConnection.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX)
            busyMilliseconds = SQLiteConnection.milliseconds(busyTimeout)
            self.checkpointer = checkpointer
            do {
                // SQLite opens a file it may not write read-only without
                // saying so; every write would then fail. Said now, the store
                // can apply its policy for an unwritable file.
                if sqlite3_db_readonly(db, "main") == 1 {
                    throw DatabaseError(resultCode: .SQLITE_READONLY, message: "the file is read-only for this user")
                }
                sqlite3_busy_timeout(db, busyMilliseconds)
                // The store opened the file in WAL mode and brought its schema
                // up to date before this connection exists.
                try execute("PRAGMA synchronous = \(synchronous)")
                // Replaces SQLite's automatic checkpoint, itself a WAL hook.
                if let checkpointer {
                    sqlite3_wal_hook(db, { context, db, _, frames in
                        let checkpointer = Unmanaged<Checkpointer>.fromOpaque(context!).takeUnretainedValue()
                        if frames >= SQLiteWriter.writerCheckpointFrames {
                            // A failure leaves the WAL longer; the next commit retries.
                            sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                        } else if frames >= SQLiteWriter.checkpointFrames {
                            checkpointer.request()
                        }
                        return SQLITE_OK
                    }, Unmanaged.passUnretained(checkpointer).toOpaque())
                }
            } catch {
                sqlite3_close_v2(db)
                throw error
            }
        }

        deinit {
            sqlite3_wal_hook(db, nil, nil)
            for statement in statements.values { sqlite3_finalize(statement) }
            sqlite3_close_v2(db)
        }

        func dataVersion() throws -> Int64 {
            let pragma = try statement("PRAGMA data_version")
            defer { sqlite3_reset(pragma) }
            let stepped = sqlite3_step(pragma)
            guard stepped == SQLITE_ROW else { throw error(stepped) }
            return sqlite3_column_int64(pragma, 0)
        }

        func synchronousLevel() throws -> Int {
            let pragma = try statement("PRAGMA synchronous")
            defer { sqlite3_reset(pragma) }
            let stepped = sqlite3_step(pragma)
            guard stepped == SQLITE_ROW else { throw error(stepped) }
            return Int(sqlite3_column_int64(pragma, 0))
        }

        /// One `BEGIN IMMEDIATE` transaction: up to ``SQLiteStore/purgeBatch``
        /// expired rows deleted, each entry stored in place of any with its
        /// key, then eviction if the budget is exceeded. All or nothing.
        ///
        /// - Returns: `nil`, having changed nothing, when `wait` is false and
        ///   the database lock is held elsewhere.
        func write(_ entries: [CacheEntry], now: Int64, maximumBytes: Int, wantKeys: Bool, path: String, wait: Bool) throws -> SQLiteStore.Removals? {
            sqlite3_busy_timeout(db, wait ? busyMilliseconds : 0)
            let begin = try statement("BEGIN IMMEDIATE")
            let began = sqlite3_step(begin)
            sqlite3_reset(begin)
            if began == SQLITE_BUSY && !wait { return nil }
            guard began == SQLITE_DONE else { throw error(began) }
            do {
                var removed = SQLiteStore.Removals()
                removed.expired = try purgeExpired(now: now, path: path)
                var newest: Int64 = 0
                for entry in entries { newest = try insert(entry) }
                (removed.evictedCount, removed.evicted) = try evictIfNeeded(maximumBytes: maximumBytes, keep: newest, wantKeys: wantKeys, path: path)
                try run(try statement("COMMIT"))
                return removed
            } catch {
                // Leaves no transaction open whatever failed; a failed COMMIT
                // has already rolled back, and then this fails harmlessly.
                sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                throw error
            }
        }

        private func purgeExpired(now: Int64, path: String) throws -> [CacheKey] {
            let purge = try statement("DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE expires_at <= ? LIMIT \(SQLiteStore.purgeBatch)) RETURNING key")
            defer { sqlite3_reset(purge) }
            sqlite3_bind_int64(purge, 1, now)
            var keys: [CacheKey] = []
            while true {
                let stepped = sqlite3_step(purge)
                if stepped == SQLITE_DONE { return keys }
                guard stepped == SQLITE_ROW else { throw error(stepped) }
                keys.append(try SQLiteRowCodec.key(blob(purge, 0), path: path))
            }
        }

        /// Inserts `entry` in place of any row with its key; returns the new row id.
        private func insert(_ entry: CacheEntry) throws -> Int64 {
            let delete = try statement("DELETE FROM entries WHERE key = ?")
            try bind(delete, 1, entry.key.bytes)
            try run(delete)
            let insert = try statement("""
                INSERT INTO entries (key, namespace, model, tags, created_at, expires_at, compute_ns, encoding, raw_size, weight, value, checksum)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try bind(insert, 1, entry.key.bytes)
            try bind(insert, 2, entry.namespace)
            try bind(insert, 3, entry.model)
            try bind(insert, 4, SQLiteRowCodec.blob(tags: entry.tags))
            sqlite3_bind_int64(insert, 5, entry.createdAt.nanosecondsSinceEpoch)
            if let expiresAt = entry.expiresAt {
                sqlite3_bind_int64(insert, 6, expiresAt.nanosecondsSinceEpoch)
            } else {
                sqlite3_bind_null(insert, 6)
            }
            sqlite3_bind_int64(insert, 7, entry.computeDuration.nanoseconds)
            try bind(insert, 8, entry.encoding.name)
            sqlite3_bind_int64(insert, 9, Int64(entry.rawSize))
            sqlite3_bind_int64(insert, 10, Int64(entry.weight))
            try bind(insert, 11, entry.value)
            sqlite3_bind_int64(insert, 12, Int64(EntryChecksum.of(key: entry.key, value: entry.value)))
            try run(insert)
            let id = sqlite3_last_insert_rowid(db)
            if !entry.tags.isEmpty {
                let tag = try statement("INSERT OR IGNORE INTO entry_tags (tag, entry_id) VALUES (?, ?)")
                for name in entry.tags {
                    try bind(tag, 1, name)
                    sqlite3_bind_int64(tag, 2, id)
                    try run(tag)
                }
            }
            if let semantic = entry.semantic {
                let insertSemantic = try statement("INSERT INTO semantic (entry_id, scope, text, embedding_model, vector) VALUES (?, ?, ?, ?, ?)")
                sqlite3_bind_int64(insertSemantic, 1, id)
                try bind(insertSemantic, 2, semantic.scope.bytes)
                try bind(insertSemantic, 3, semantic.text)
                try bind(insertSemantic, 4, semantic.embeddingModel)
                try bind(insertSemantic, 5, SQLiteRowCodec.blob(vector: semantic.vector))
                try run(insertSemantic)
            }
            return id
        }

        /// When the stored bytes exceed `maximumBytes`, deletes the least
        /// recently written rows (lowest ids) until 5 % under it, sparing the
        /// row just written. One batch per overflow keeps eviction off most
        /// writes. Returns how many rows went, and their keys when someone
        /// listens for events.
        private func evictIfNeeded(maximumBytes: Int, keep: Int64, wantKeys: Bool, path: String) throws -> (count: Int, keys: [CacheKey]) {
            let totals = try statement("SELECT stored_bytes FROM totals WHERE id = 0")
            let stepped = sqlite3_step(totals)
            let stored = stepped == SQLITE_ROW ? Int(sqlite3_column_int64(totals, 0)) : 0
            sqlite3_reset(totals)
            guard stepped == SQLITE_ROW || stepped == SQLITE_DONE else { throw error(stepped) }
            guard stored > maximumBytes else { return (0, []) }

            let target = maximumBytes - maximumBytes / 20
            var toFree = stored - target
            var lastID: Int64 = 0
            var keys: [CacheKey] = []
            let oldest = try statement("SELECT id, key, weight FROM entries WHERE id != ? ORDER BY id")
            sqlite3_bind_int64(oldest, 1, keep)
            do {
                defer { sqlite3_reset(oldest) }
                while toFree > 0 {
                    let stepped = sqlite3_step(oldest)
                    if stepped == SQLITE_DONE { break }
                    guard stepped == SQLITE_ROW else { throw error(stepped) }
                    lastID = sqlite3_column_int64(oldest, 0)
                    toFree -= Int(sqlite3_column_int64(oldest, 2))
                    if wantKeys { keys.append(try SQLiteRowCodec.key(blob(oldest, 1), path: path)) }
                }
            }
            let evict = try statement("DELETE FROM entries WHERE id <= ? AND id != ?")
            sqlite3_bind_int64(evict, 1, lastID)
            sqlite3_bind_int64(evict, 2, keep)
            try run(evict)
            return (Int(sqlite3_changes(db)), keys)
        }

        /// The statement for `sql`, prepared on first use and kept.
        private func statement(_ sql: String) throws -> OpaquePointer {
            if let statement = statements[sql] { return statement }
            var statement: OpaquePointer?
            let prepared = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard prepared == SQLITE_OK, let statement else {
                sqlite3_finalize(statement)
                throw error(prepared)
            }
            statements[sql] = statement
            return statement
        }

        /// Steps a statement that returns no rows, then resets it.
        private func run(_ statement: OpaquePointer) throws {
            let stepped = sqlite3_step(statement)
            sqlite3_reset(statement)
            guard stepped == SQLITE_DONE else { throw error(stepped) }
        }

        private func execute(_ sql: String) throws {
            let code = sqlite3_exec(db, sql, nil, nil, nil)
            guard code == SQLITE_OK else { throw error(code) }
        }

        private func bind(_ statement: OpaquePointer, _ index: Int32, _ bytes: [UInt8]) throws {
            let code = bytes.withUnsafeBytes { bindBlob(statement, index, $0) }
            guard code == SQLITE_OK else { throw error(code) }
        }

        private func bind(_ statement: OpaquePointer, _ index: Int32, _ data: Data) throws {
            let code = data.withUnsafeBytes { bindBlob(statement, index, $0) }
            guard code == SQLITE_OK else { throw error(code) }
        }

        /// An empty buffer may have no address, which SQLite would bind as
        /// NULL; the columns are NOT NULL, so it is bound as a zero-length blob.
        private func bindBlob(_ statement: OpaquePointer, _ index: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_zeroblob(statement, index, 0) }
            return sqlite3_bind_blob(statement, index, base, Int32(bytes.count), SQLiteConnection.transient)
        }

        private func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String) throws {
            var text = text
            let code = text.withUTF8 { utf8 in
                // As for blobs: an empty string is bound as '' rather than NULL.
                guard let base = utf8.baseAddress, !utf8.isEmpty else { return sqlite3_bind_text(statement, index, "", 0, SQLiteConnection.transient) }
                return sqlite3_bind_text(statement, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(utf8.count), SQLiteConnection.transient)
            }
            guard code == SQLITE_OK else { throw error(code) }
        }

        private func blob(_ statement: OpaquePointer, _ column: Int32) -> UnsafeRawBufferPointer {
            let pointer = sqlite3_column_blob(statement, column)
            return UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : Int(sqlite3_column_bytes(statement, column)))
        }

        private func error(_ code: Int32) -> DatabaseError {
            SQLiteConnection.error(code, db)
        }
    }

    /// Checkpoints the WAL on a connection and a queue of its own when the
    /// writer asks, so that a write does not wait for the two `fsync`s and the
    /// page copies of a checkpoint.
    ///
    /// `PASSIVE` checkpoints: they never wait for a lock and never block a
    /// writer or reader of this or another process; they copy what they can.
    final class Checkpointer: Sendable {
        private let path: String
        private let queue = DispatchQueue(label: "LLMCache.SQLiteStore.checkpoint", qos: .utility)
        private let requested = Atomic<Bool>(false)
        /// Opened on the first checkpoint, used only on `queue`.
        private let connection = Mutex<OpaquePointer?>(nil)

        init(path: String) {
            self.path = path
        }

        deinit {
            connection.withLock { if let db = $0 { sqlite3_close_v2(db) } }
        }

        /// Asks for a checkpoint; does nothing if one is already pending.
        /// Never blocks: it is called inside a committing write.
        func request() {
            guard requested.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
            queue.async { [self] in
                // Cleared first, so that a commit while this runs asks again.
                requested.store(false, ordering: .releasing)
                checkpoint()
            }
        }

        private func checkpoint() {
            connection.withLock { db in
                if db == nil {
                    db = try? SQLiteConnection.open(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX)
                }
                guard let db else { return }
                // A failure (the file gone, the disk full) leaves the WAL to the
                // writer's own checkpoints; the next request tries again.
                sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            }
        }
    }
}

/// Helpers shared by the store's raw SQLite connections.
enum SQLiteConnection {
    static func open(_ path: String, flags: Int32) throws -> OpaquePointer {
        var handle: OpaquePointer?
        let opened = sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK, let handle else {
            let error = error(opened, handle)
            sqlite3_close_v2(handle)
            throw error
        }
        return handle
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// `SQLITE_TRANSIENT`, a C macro Swift does not import: SQLite copies the
    /// bound bytes before `bind` returns.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func error(_ code: Int32, _ db: OpaquePointer?) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.map { String(cString: sqlite3_errmsg($0)) })
    }
}
