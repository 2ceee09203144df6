import Foundation
import GRDB
import LLMCache
import Logging

extension SQLiteStore {
    /// The connections of an opened file.
    struct Opened {
        var pool: DatabasePool
        /// `nil` for a read-only open.
        var writer: SQLiteWriter?
    }

    /// Opens the file as the configuration says, applying its policies for a
    /// damaged and for an unwritable file.
    static func open(_ configuration: Configuration, logger: Logger) throws -> Opened {
        let path = configuration.path
        do {
            return try openOnce(configuration, readOnly: configuration.readOnly)
        } catch let damage as DamagedFile {
            guard configuration.onDamagedFile == .setAside, !configuration.readOnly else {
                throw CacheError(
                    .corruptData,
                    "SQLite cache \(path) is damaged or not a SQLite database (\(damage.detail)); the file was left as it is: move it aside to start with an empty cache, restore it from a backup or an `llm-cache export` file, or let the store do it (SQLiteStore.Configuration.onDamagedFile = .setAside, the default of `llm-cache serve`)"
                )
            }
            // Another process opening the same file may have set it aside and
            // started a fresh one since this attempt: use that one rather
            // than move it too. This narrows the race to the instant between
            // the second look and the rename.
            if let opened = try? openOnce(configuration, readOnly: false) { return opened }
            let movedTo = try setAside(path, because: damage)
            logger.error(
                "SQLite cache \(path) is damaged (\(damage.detail)); it was moved to \(movedTo) (with its -wal and -shm, if any) and an empty cache was started at \(path). Entries are fetched again as they are asked for; delete \(movedTo) once you no longer need it, or inspect it with sqlite3",
                metadata: ["path": "\(path)", "moved_to": "\(movedTo)"]
            )
            do {
                return try openOnce(configuration, readOnly: false)
            } catch let damage as DamagedFile {
                throw CacheError(.corruptData, "SQLite cache \(path) is damaged again right after it was replaced with an empty file (\(damage.detail)); check the disk and the directory")
            }
        } catch let unwritable as UnwritableFile {
            guard configuration.onUnwritableFile == .openReadOnly, !configuration.readOnly else { throw unwritable.error }
            let opened: Opened
            do {
                opened = try openOnce(configuration, readOnly: true)
            } catch {
                throw CacheError(.backendUnavailable, "\(unwritable.error.message); opening it read-only failed too (\(error))")
            }
            logger.error(
                "SQLite cache \(path) cannot be written by this user (\(unwritable.error.message)); it is open read-only: entries already cached are served, new answers are not stored. Fix the permissions of the file, its -wal and -shm and its directory (or run as their owner), then restart",
                metadata: ["path": "\(path)"]
            )
            return opened
        }
    }

    /// A file found not to be a healthy SQLite database, and why.
    struct DamagedFile: Error {
        var detail: String
    }

    /// A file this user may not write (SQLite's `CANTOPEN`, `PERM`,
    /// `READONLY` or `AUTH` on a writable open), with the error the store
    /// throws for it when it is not opened read-only instead.
    struct UnwritableFile: Error {
        var error: CacheError
    }

    /// One attempt: the pool, the schema brought up to date and the writer,
    /// or only the pool for a read-only open.
    ///
    /// - Throws: ``DamagedFile`` for a damaged file, ``UnwritableFile`` for
    ///   one this user may not write, ``CacheError`` otherwise.
    private static func openOnce(_ configuration: Configuration, readOnly: Bool) throws -> Opened {
        let path = configuration.path
        if let detail = truncation(of: path) { throw DamagedFile(detail: detail) }
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout.seconds)
        config.maximumReaderCount = configuration.maximumReaders
        config.label = "LLMCache.SQLiteStore"
        let synchronous = configuration.durability.pragmaValue
        if readOnly {
            config.readonly = true
        } else {
            config.journalMode = .wal
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            }
        }
        do {
            let pool = try openPool(path: path, configuration: config, busyTimeout: configuration.busyTimeout)
            if configuration.quickCheckOnOpen {
                let problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
                if problems != ["ok"] {
                    let lines = problems.flatMap { $0.split(separator: "\n") }.prefix(4)
                    throw DamagedFile(detail: "PRAGMA quick_check found: \(lines.joined(separator: "; "))")
                }
            }
            if readOnly {
                try pool.read { db in try SQLiteSchema.checkReadOnly(db, path: path) }
                return Opened(pool: pool, writer: nil)
            }
            try pool.writeWithoutTransaction { db in
                // DatabasePool sets synchronous=NORMAL on its writer when it
                // switches the file to WAL, after prepareDatabase has run, so a
                // `.full` store's deletes were not synced: set it again.
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                try SQLiteSchema.migrate(db, path: path)
            }
            let writer = try SQLiteWriter(path: path, synchronous: synchronous, busyTimeout: configuration.busyTimeout, backgroundCheckpoints: configuration.durability == .normal)
            return Opened(pool: pool, writer: writer)
        } catch let damage as DamagedFile {
            throw damage
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
            throw DamagedFile(detail: error.message ?? "\(error.resultCode)")
        } catch let error as DatabaseError where !readOnly && [.SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH].contains(error.resultCode) {
            throw UnwritableFile(error: translate(error, path: path, busyTimeout: configuration.busyTimeout, while: "opening") as? CacheError ?? CacheError(.backendUnavailable, "\(error)"))
        } catch {
            throw translate(error, path: path, busyTimeout: configuration.busyTimeout, while: "opening")
        }
    }

    /// Why the file is shorter than its header says, or `nil`.
    ///
    /// SQLite reads only the first page on open, so a file cut short (a copy
    /// interrupted, a full disk) opens fine and fails later, on whichever read
    /// reaches a missing page. The header's page count is only trusted when
    /// SQLite marks it valid (the change counter equals the version-valid-for
    /// number) and no WAL is beside the file: pages a WAL holds may not have
    /// reached the file yet. One 100-byte read: cheap enough for every open,
    /// unlike `PRAGMA quick_check`, which reads the whole file.
    static func truncation(of path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd(), size >= 100 else { return nil }
        try? handle.seek(toOffset: 0)
        guard let header = try? handle.read(upToCount: 100), header.count == 100 else { return nil }
        let bytes = [UInt8](header)
        guard bytes.starts(with: Array("SQLite format 3\0".utf8)) else { return nil }
        func u32(_ offset: Int) -> UInt64 { bytes[offset..<offset + 4].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        let rawPageSize = UInt64(bytes[16]) << 8 | UInt64(bytes[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        let pages = u32(28)
        guard pages > 0, u32(24) == u32(92) else { return nil }
        var wal = stat()
        let walSize = stat(path + "-wal", &wal) == 0 ? UInt64(wal.st_size) : 0
        guard walSize == 0, pages * pageSize > size else { return nil }
        return "truncated: its header counts \(pages) pages of \(pageSize) bytes, \(pages * pageSize) bytes, but the file has \(size)"
    }

    /// Renames the damaged file and its -wal and -shm to
    /// `PATH.damaged-YYYYMMDDTHHMMSSZ` (and `-wal`, `-shm`); returns the new path.
    ///
    /// - Throws: ``CacheError/Code/corruptData`` when the file cannot be
    ///   renamed (its directory is not writable): it is never deleted.
    static func setAside(_ path: String, because damage: DamagedFile, now: Date = Date()) throws -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stem = "\(path).damaged-\(formatter.string(from: now))"
        var target = stem
        var attempt = 1
        let files = FileManager.default
        while files.fileExists(atPath: target) || files.fileExists(atPath: target + "-wal") {
            attempt += 1
            target = "\(stem)-\(attempt)"
        }
        // The main file last: should a rename fail midway, the file at `path`
        // is still the damaged one with what remains of its companions.
        for suffix in ["-wal", "-shm", ""] where files.fileExists(atPath: path + suffix) {
            guard rename(path + suffix, target + suffix) == 0 else {
                let reason = String(cString: strerror(errno))
                throw CacheError(
                    .corruptData,
                    "SQLite cache \(path) is damaged (\(damage.detail)) and could not be moved aside to \(target)\(suffix) (\(reason)); the file was left as it is: move or delete it by hand, or make its directory writable"
                )
            }
        }
        return target
    }
}
