import GRDB
import LLMCache

extension SQLiteStore {
    /// Turns a SQLite failure into a ``CacheError`` that names the file and says
    /// what to do. Errors that already are ``CacheError``s pass through.
    static func translate(_ error: any Error, path: String, busyTimeout: Duration, while operation: String) -> any Error {
        if error is CacheError { return error }
        guard let error = error as? DatabaseError else {
            return CacheError(.backendUnavailable, "SQLite cache \(path): \(operation) failed: \(error)")
        }
        let detail = (error.message ?? "\(error.resultCode)")
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return CacheError(
                .timeout,
                "SQLite cache \(path): \(operation) waited longer than the busy timeout (\(busyTimeout)) for another connection or process holding the database lock (\(detail)); retry, raise Configuration.busyTimeout, or find the process keeping a long transaction open"
            )
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return CacheError(
                .corruptData,
                "SQLite cache \(path) is damaged or not a SQLite database (\(detail)) while \(operation); the file was left as it is: move it aside to start with an empty cache, or restore it from a backup or an `llm-cache export` file"
            )
        case .SQLITE_FULL:
            return CacheError(.backendUnavailable, "SQLite cache \(path): the disk is full while \(operation) (\(detail)); free space or lower Configuration.maximumBytes")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
            return CacheError(.backendUnavailable, "SQLite cache \(path) cannot be opened for writing while \(operation) (\(detail)); check that the directory exists and that this user may write the file and its -wal and -shm companions")
        default:
            return CacheError(.backendUnavailable, "SQLite cache \(path): \(operation) failed (\(detail))")
        }
    }
}
