import LLMCache
import LLMCacheSQLite
import Logging

/// Where a command finds its store, written as `memory` or `sqlite:PATH`.
///
/// Parsed by scheme (the text before the first `:`), so network stores such
/// as `redis://host:6379` slot in as new cases without changing the syntax.
enum StoreLocation: Hashable, CustomStringConvertible {
    /// A store in this process's memory: empty at start, gone at exit.
    case memory
    /// A SQLite file.
    case sqlite(path: String)

    static let syntax = "memory or sqlite:PATH (e.g. sqlite:cache.sqlite)"

    init(parsing text: String) throws {
        if text == "memory" {
            self = .memory
            return
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw CacheError(.invalidArgument, "store '\(text)' names no kind of store; write \(Self.syntax)")
        }
        let scheme = text[..<colon].lowercased()
        let rest = String(text[text.index(after: colon)...])
        switch scheme {
        case "sqlite":
            guard !rest.isEmpty else {
                throw CacheError(.invalidArgument, "store '\(text)' has no file path; write sqlite:PATH, e.g. sqlite:cache.sqlite")
            }
            self = .sqlite(path: rest)
        case "memory":
            throw CacheError(.invalidArgument, "store '\(text)': memory takes no argument; write just memory")
        default:
            throw CacheError(.invalidArgument, "store '\(text)' has the unknown kind '\(scheme)'; this release knows \(Self.syntax)")
        }
    }

    var description: String {
        switch self {
        case .memory: return "memory"
        case .sqlite(let path): return "sqlite:\(path)"
        }
    }

    /// Opens a store whose entries outlive this process, as export and import
    /// need: a memory store would start and end empty.
    func openPersistent() throws -> any CacheStore {
        switch self {
        case .memory:
            throw CacheError(.invalidArgument, "a memory store is empty when the command starts and gone when it ends, so there is nothing to export or import; use sqlite:PATH")
        case .sqlite(let path):
            return try SQLiteStore(path: path)
        }
    }
}

extension StoreLocation {
    /// Opens a store for a long-running server: memory is fine here, since
    /// the server keeps it for as long as it runs. A file gets a memory tier of
    /// `memoryBytes` in front of it (see ``SQLiteStore/Configuration/memoryTierBytes``).
    ///
    /// A cache is disposable, so the server keeps serving whatever state its
    /// file is in: a damaged file is set aside and replaced with an empty one
    /// (``SQLiteStore/Configuration/DamagedFilePolicy/setAside``), an
    /// unwritable one is opened read-only, and one that cannot even be read
    /// leaves the server on a memory store of `memoryBytes`; each logged as
    /// an error saying what to fix.
    ///
    /// - Returns: the store, and how it is described in the banner.
    func openForServing(memoryBytes: Int, logger: Logger) throws -> (store: any CacheStore, description: String) {
        let budget = "\(memoryBytes >> 20) MiB"
        switch self {
        case .memory:
            return (MemoryStore(configuration: .init(maximumBytes: memoryBytes)), "memory (\(budget))")
        case .sqlite(let path):
            var configuration = SQLiteStore.Configuration(path: path)
            configuration.memoryTierBytes = memoryBytes
            configuration.onDamagedFile = .setAside
            configuration.onUnwritableFile = .openReadOnly
            do {
                let store = try SQLiteStore(configuration: configuration, logger: logger)
                return (store, "\(self)\(store.isReadOnly ? " (read-only)" : "") behind \(budget) of memory")
            } catch let error as CacheError where error.code == .backendUnavailable || (error.code == .corruptData && error.message.contains("could not be moved aside")) {
                // Unwritable, or damaged in a directory where it cannot be
                // renamed: either way a cache can wait. Another application's
                // database, or a file from a newer release, still stops the
                // server: the path is probably wrong.
                logger.error(
                    "the SQLite cache cannot be opened (\(error.message)); serving from memory only until it is fixed and the server restarted: answers are cached for this run and lost at exit",
                    metadata: ["path": "\(path)"]
                )
                return (MemoryStore(configuration: .init(maximumBytes: memoryBytes)), "memory (\(budget)), because \(self) cannot be opened")
            }
        }
    }
}
