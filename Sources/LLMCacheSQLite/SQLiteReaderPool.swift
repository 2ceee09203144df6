import Foundation
import GRDB
import GRDBSQLite
import LLMCache
import Synchronization

/// The read-only connections ``SQLiteStore/get(_:)`` reads on, each holding its
/// one prepared `SELECT`.
///
/// A hit is the store's hot path, and through `DatabasePool` about half of it
/// was GRDB's bookkeeping around a one-statement query: a semaphore and a
/// dispatch-queue hop to borrow a reader, a `PRAGMA schema_version` query
/// before the real one, a dictionary lookup of the cached statement by its SQL,
/// boxed arguments and a `Row` copied column by column. Here a hit pops a
/// connection from a mutex-guarded list, binds two values, steps the statement
/// and copies each column once, straight into the entry.
///
/// What stays the same: every connection is a SQLite connection on the same
/// WAL file, so a read sees a committed snapshot (the single statement runs in
/// its own read transaction), never waits for a writer, and sees other
/// processes' writes. A statement prepared before another process changed the
/// schema is re-prepared by SQLite itself.
final class SQLiteReaderPool: Sendable {
    private let path: String
    private let busyTimeout: Duration
    private let maximumIdle: Int
    private let idle = Mutex<[Connection]>([])

    init(path: String, busyTimeout: Duration, maximumIdle: Int) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.maximumIdle = maximumIdle
    }

    /// What a read found under a key.
    enum Found {
        /// No live entry.
        case none
        /// The entry, its checksum verified (or absent: written before
        /// schema version 3).
        case entry(CacheEntry)
        /// A row whose value does not match its checksum: damaged. The row id
        /// lets the store delete this row and not a newer one with the same key.
        case damaged(rowID: Int64)
    }

    /// The live entry under `key` at `now`, or `nil`.
    ///
    /// - Throws: GRDB's `DatabaseError` carrying SQLite's result code, for
    ///   ``SQLiteStore/translate(_:path:busyTimeout:while:)``; `CacheError`
    ///   for a row that does not decode.
    func entry(for key: CacheKey, now: Int64) throws -> Found {
        // Opening on demand: more callers at once than idle connections (a rare
        // burst, since synchronous callers are bounded by the threads running
        // them) get a connection of their own, closed again if the list is full.
        let connection = try idle.withLock { $0.popLast() } ?? Connection(path: path, busyTimeout: busyTimeout)
        defer {
            idle.withLock { idle in
                if idle.count < maximumIdle { idle.append(connection) }
            }
        }
        return try connection.entry(for: key, now: now, path: path)
    }

    /// One read-only SQLite connection and its prepared hit query.
    ///
    /// `@unchecked Sendable`: a connection is used by one thread at a time. It is
    /// either in the pool's idle list (under its mutex) or checked out by exactly
    /// one caller, which puts it back when done; it is opened with
    /// `SQLITE_OPEN_NOMUTEX` for that reason.
    final class Connection: @unchecked Sendable {
        private let db: OpaquePointer
        private let select: OpaquePointer

        /// Columns 0–12 of ``SQLiteStore/selectEntrySQL``, then the checksum
        /// and the row id; the caller has the key.
        static let selectSQL = """
            SELECT e.namespace, e.model, e.tags, e.created_at, e.expires_at, e.compute_ns, e.encoding, e.raw_size, e.value,
                   s.scope, s.text, s.embedding_model, s.vector, e.checksum, e.id
            FROM entries e LEFT JOIN semantic s ON s.entry_id = e.id
            WHERE e.key = ? AND (e.expires_at IS NULL OR e.expires_at > ?)
            """

        init(path: String, busyTimeout: Duration) throws {
            var handle: OpaquePointer?
            let opened = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
            guard opened == SQLITE_OK, let handle else {
                let error = Self.error(opened, handle)
                sqlite3_close_v2(handle)
                throw error
            }
            let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
            sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
            var statement: OpaquePointer?
            let prepared = sqlite3_prepare_v3(handle, Self.selectSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard prepared == SQLITE_OK, let statement else {
                let error = Self.error(prepared, handle)
                sqlite3_finalize(statement)
                sqlite3_close_v2(handle)
                throw error
            }
            db = handle
            select = statement
        }

        deinit {
            sqlite3_finalize(select)
            sqlite3_close_v2(db)
        }

        func entry(for key: CacheKey, now: Int64, path: String) throws -> Found {
            defer {
                sqlite3_reset(select)
                sqlite3_clear_bindings(select)
            }
            let bound = key.bytes.withUnsafeBytes { sqlite3_bind_blob(select, 1, $0.baseAddress, Int32($0.count), Self.transient) }
            guard bound == SQLITE_OK else { throw Self.error(bound, db) }
            sqlite3_bind_int64(select, 2, now)
            let stepped = sqlite3_step(select)
            if stepped == SQLITE_DONE { return .none }
            guard stepped == SQLITE_ROW else { throw Self.error(stepped, db) }
            let value = blob(8)
            // Verified in place, before anything is copied or decoded.
            if sqlite3_column_type(select, 13) != SQLITE_NULL,
               UInt32(truncatingIfNeeded: sqlite3_column_int64(select, 13)) != EntryChecksum.of(key: key, value: value) {
                return .damaged(rowID: sqlite3_column_int64(select, 14))
            }

            let encodingName = text(6)
            guard let encoding = ValueEncoding(name: encodingName) else {
                throw CacheError(.unsupportedVersion, "SQLite cache \(path) holds a value encoded as '\(encodingName)', which this release of LLMCache does not know; upgrade LLMCache")
            }
            var semantic: SemanticRecord?
            if sqlite3_column_type(select, 9) != SQLITE_NULL {
                semantic = SemanticRecord(
                    scope: try SQLiteRowCodec.key(blob(9), path: path),
                    text: text(10),
                    embeddingModel: text(11),
                    vector: try SQLiteRowCodec.vector(blob(12), path: path)
                )
            }
            return .entry(CacheEntry(
                key: key,
                value: value.isEmpty ? Data() : Data(value),
                encoding: encoding,
                rawSize: Int(sqlite3_column_int64(select, 7)),
                namespace: text(0),
                model: text(1),
                tags: try SQLiteRowCodec.tags(blob(2), path: path),
                createdAt: CacheTimestamp(nanosecondsSinceEpoch: sqlite3_column_int64(select, 3)),
                expiresAt: sqlite3_column_type(select, 4) == SQLITE_NULL ? nil : CacheTimestamp(nanosecondsSinceEpoch: sqlite3_column_int64(select, 4)),
                computeDuration: .nanoseconds(sqlite3_column_int64(select, 5)),
                semantic: semantic
            ))
        }

        /// A column's bytes, valid until the next step or reset: read them
        /// before touching the statement again.
        private func blob(_ column: Int32) -> UnsafeRawBufferPointer {
            // Pointer first, then size, as SQLite's documentation asks.
            let pointer = sqlite3_column_blob(select, column)
            return UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : Int(sqlite3_column_bytes(select, column)))
        }

        private func text(_ column: Int32) -> String {
            guard let pointer = sqlite3_column_text(select, column) else { return "" }
            return String(decoding: UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(select, column))), as: UTF8.self)
        }

        /// `SQLITE_TRANSIENT`, a C macro Swift does not import: SQLite copies the
        /// bound bytes before `bind` returns.
        private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        private static func error(_ code: Int32, _ db: OpaquePointer?) -> DatabaseError {
            DatabaseError(resultCode: ResultCode(rawValue: code), message: db.map { String(cString: sqlite3_errmsg($0)) })
        }
    }
}
