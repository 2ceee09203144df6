import GRDB
import LLMCache

/// The file's tables, built by ordered steps. `PRAGMA user_version` records the
/// last step applied, so an older file is brought up to date step by step and a
/// file from a newer release is refused instead of misread.
enum SQLiteSchema {
    /// The version this release writes.
    static let currentVersion = 3

    /// Step `n` (1-based) takes the schema from version `n - 1` to `n`.
    static let steps: [String] = [
        // 1: entries, their tags, and running totals kept exact by triggers, so
        // statistics are one row read whatever removed the entries (eviction,
        // expiry, invalidation, another process).
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            key BLOB NOT NULL UNIQUE,
            namespace TEXT NOT NULL,
            model TEXT NOT NULL,
            tags BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            compute_ns INTEGER NOT NULL,
            encoding TEXT NOT NULL,
            raw_size INTEGER NOT NULL,
            weight INTEGER NOT NULL,
            value BLOB NOT NULL
        );
        CREATE INDEX entries_expires_at ON entries(expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX entries_created_at ON entries(created_at);
        CREATE INDEX entries_namespace_model ON entries(namespace, model);
        CREATE TABLE entry_tags (
            tag TEXT NOT NULL,
            entry_id INTEGER NOT NULL,
            PRIMARY KEY (tag, entry_id)
        ) WITHOUT ROWID;
        CREATE INDEX entry_tags_entry ON entry_tags(entry_id);
        CREATE TABLE totals (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            entries INTEGER NOT NULL,
            stored_bytes INTEGER NOT NULL,
            raw_bytes INTEGER NOT NULL
        );
        INSERT INTO totals VALUES (0, 0, 0, 0);
        CREATE TRIGGER entries_inserted AFTER INSERT ON entries BEGIN
            UPDATE totals SET entries = entries + 1, stored_bytes = stored_bytes + NEW.weight, raw_bytes = raw_bytes + NEW.raw_size WHERE id = 0;
        END;
        CREATE TRIGGER entries_deleted AFTER DELETE ON entries BEGIN
            UPDATE totals SET entries = entries - 1, stored_bytes = stored_bytes - OLD.weight, raw_bytes = raw_bytes - OLD.raw_size WHERE id = 0;
            DELETE FROM entry_tags WHERE entry_id = OLD.id;
        END;
        """,
        // 2: semantic records in their own table, so rebuilding the semantic
        // index at start scans vectors without paging through cached values.
        """
        CREATE TABLE semantic (
            entry_id INTEGER PRIMARY KEY,
            scope BLOB NOT NULL,
            text TEXT NOT NULL,
            embedding_model TEXT NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE TRIGGER entries_deleted_semantic AFTER DELETE ON entries BEGIN
            DELETE FROM semantic WHERE entry_id = OLD.id;
        END;
        """,
        // 3: a CRC-32C of key and value (``EntryChecksum``), checked on every
        // read. Nullable, and no rewrite of existing rows: entries written
        // before this version have none and are served unverified, so nothing
        // cached is lost by upgrading.
        """
        ALTER TABLE entries ADD COLUMN checksum INTEGER;
        """,
    ]

    /// Brings the schema of `db` to `target` (the current version by default).
    ///
    /// An up-to-date file is only read, so opening never waits for another
    /// process's write; a migration runs in one immediate transaction so two
    /// processes opening a new file at once do not both create it.
    static func migrate(_ db: Database, path: String, to target: Int = currentVersion) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        try check(version, path: path)
        guard version < target else { return }
        try db.inTransaction(.immediate) {
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            try check(version, path: path)
            if version == 0 {
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                if !tables.isEmpty {
                    throw CacheError(
                        .corruptData,
                        "\(path) is a SQLite database but not an LLMCache store (it has tables \(tables.prefix(5).joined(separator: ", ")) and no schema version); the file was left untouched: choose another path for the cache"
                    )
                }
            }
            guard version < target else { return .commit }
            for step in version..<target {
                try db.execute(sql: steps[step])
            }
            try db.execute(sql: "PRAGMA user_version = \(target)")
            return .commit
        }
    }

    /// Checks that a file opened read-only can be read as it is: it cannot be
    /// created or brought up to date.
    static func checkReadOnly(_ db: Database, path: String) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        try check(version, path: path)
        guard version == currentVersion else {
            throw CacheError(
                .backendUnavailable,
                version == 0
                    ? "the SQLite cache \(path) is open read-only and holds no cache yet, so it cannot be created; make it writable by this user"
                    : "the SQLite cache \(path) has schema version \(version) and is open read-only, so it cannot be brought up to version \(currentVersion); make it writable by this user once, so the upgrade can run"
            )
        }
    }

    private static func check(_ version: Int, path: String) throws {
        if version > currentVersion {
            throw CacheError(
                .unsupportedVersion,
                "the SQLite cache \(path) has schema version \(version), written by a newer LLMCache; this release reads versions up to \(currentVersion). Upgrade LLMCache, or point this one at another file; the file was left untouched"
            )
        }
    }
}
