import LLMCache

extension SQLiteStore {
    /// How a ``SQLiteStore`` opens and bounds its file.
    ///
    /// A value type; safe to share across tasks.
    public struct Configuration: Sendable {
        /// How much a committed write survives.
        ///
        /// The file is always in WAL mode; this chooses SQLite's `synchronous` setting.
        public struct Durability: Hashable, Sendable, CustomStringConvertible {
            let pragmaValue: String

            private init(_ pragmaValue: String) { self.pragmaValue = pragmaValue }

            /// `synchronous=NORMAL`: a committed write survives a crash of the
            /// process (it is in the WAL, which the OS holds), but the last
            /// commits before a power loss or kernel crash may be rolled back.
            /// The database is never corrupted. No `fsync` per commit, only at
            /// checkpoints: the right trade for a cache, whose entries can be
            /// recomputed.
            public static let normal = Durability("NORMAL")
            /// `synchronous=FULL`: every commit is `fsync`ed to the WAL before
            /// `set` returns, so it also survives power loss; each write costs
            /// one `fsync`.
            public static let full = Durability("FULL")

            public var description: String { "synchronous=\(pragmaValue)" }
        }

        /// What opening does with a file that is not a healthy SQLite
        /// database: not a database at all, a damaged header, cut short.
        public struct DamagedFilePolicy: Hashable, Sendable, CustomStringConvertible {
            private let name: String
            private init(_ name: String) { self.name = name }

            /// Fail with ``CacheError/Code/corruptData``, leaving the file as it is.
            public static let fail = DamagedFilePolicy("fail")
            /// Rename the file (and its -wal and -shm) to
            /// `PATH.damaged-YYYYMMDDTHHMMSSZ`, log an error naming it, and start
            /// an empty cache at `PATH`: a cache can be refilled, so a server
            /// should keep serving. The file is never deleted; if it cannot be
            /// renamed, opening fails as with ``fail``.
            public static let setAside = DamagedFilePolicy("setAside")

            public var description: String { name }
        }

        /// What opening does with a file this user cannot write (permissions,
        /// a read-only file system).
        public struct UnwritableFilePolicy: Hashable, Sendable, CustomStringConvertible {
            private let name: String
            private init(_ name: String) { self.name = name }

            /// Fail with ``CacheError/Code/backendUnavailable``.
            public static let fail = UnwritableFilePolicy("fail")
            /// Open the file read-only (as ``Configuration/readOnly``) and log
            /// an error saying how to fix the permissions: hits are served,
            /// writes fail, which the ``LLMCache`` facade turns into answers not
            /// stored. If the file cannot even be read (it does not exist, or
            /// its schema is older and needs an upgrade), opening fails.
            public static let openReadOnly = UnwritableFilePolicy("openReadOnly")

            public var description: String { name }
        }

        /// The database file. Created when missing (its directory must exist).
        public var path: String

        /// What to do with a damaged file; default ``DamagedFilePolicy/fail``,
        /// so a library never moves a file it was given unless asked.
        /// `llm-cache serve` uses ``DamagedFilePolicy/setAside``.
        public var onDamagedFile: DamagedFilePolicy = .fail

        /// What to do with a file that cannot be written; default
        /// ``UnwritableFilePolicy/fail``. `llm-cache serve` uses
        /// ``UnwritableFilePolicy/openReadOnly``.
        public var onUnwritableFile: UnwritableFilePolicy = .fail

        /// Run `PRAGMA quick_check` when opening, so damage anywhere in the
        /// file (not only its header and length, which are always checked) is
        /// found before the first request, and handled by
        /// ``onDamagedFile``. Default `false`: it reads the whole file, about
        /// a second per few hundred MB, before the store can serve; without
        /// it, damaged pages fail the read that reaches them and damaged
        /// values fail their checksum.
        public var quickCheckOnOpen: Bool = false

        /// Open the file read-only: no schema upgrade, no writes (they throw
        /// ``CacheError/Code/backendUnavailable``), damaged entries answered
        /// as misses but not deleted. The file must exist with the current
        /// schema. Default `false`.
        public var readOnly: Bool = false

        /// The byte budget: the sum of ``CacheEntry/weight`` the file may hold;
        /// default 1 GiB.
        ///
        /// When a write takes the total over the budget, the least recently
        /// written entries are evicted in one batch until the total is 5 % under
        /// the budget, so eviction runs once per many writes rather than on each.
        /// Reads never write: a hit costs no disk write and no lock.
        public var maximumBytes: Int = 1 << 30

        /// The largest ``CacheEntry/weight`` accepted by ``SQLiteStore/set(_:)``;
        /// default 16 MiB. Larger entries are refused with
        /// ``CacheError/Code/entryTooLarge``.
        public var maximumEntryWeight: Int = 16 << 20

        /// How long a write waits for another connection or process holding the
        /// write lock before failing with ``CacheError/Code/timeout``; default 5 s.
        public var busyTimeout: Duration = .seconds(5)

        /// What a committed write survives; default ``Durability/normal``.
        public var durability: Durability = .normal

        /// Reader connections kept open for concurrent reads; default 4.
        /// Readers never wait for the writer (WAL). Hits keep up to this many
        /// connections of their own, apart from the ones statistics, listing
        /// and semantic records read on.
        public var maximumReaders: Int = 4

        /// The byte budget of an in-process ``MemoryStore`` in front of the
        /// file, which answers repeated hits without reading SQLite; 0 (the
        /// default) for none. It stays coherent with every other connection
        /// and process on the file: before it answers, the store checks the
        /// file's `data_version` and empties it when anyone else has written.
        public var memoryTierBytes: Int = 0

        /// A store at `path` with every other setting at its default.
        public init(path: String) {
            self.path = path
        }

        func validate() throws {
            guard !path.isEmpty else {
                throw CacheError(.invalidConfiguration, "SQLiteStore needs a file path; pass e.g. 'cache.sqlite'")
            }
            guard maximumBytes > 0 else {
                throw CacheError(.invalidConfiguration, "maximumBytes is \(maximumBytes); it must be positive (default 1 GiB)")
            }
            guard maximumEntryWeight > 0, maximumEntryWeight <= maximumBytes else {
                throw CacheError(.invalidConfiguration, "maximumEntryWeight is \(maximumEntryWeight); it must be positive and at most maximumBytes (\(maximumBytes))")
            }
            guard busyTimeout >= .zero else {
                throw CacheError(.invalidConfiguration, "busyTimeout is \(busyTimeout); it must not be negative")
            }
            guard memoryTierBytes >= 0 else {
                throw CacheError(.invalidConfiguration, "memoryTierBytes is \(memoryTierBytes); it must be 0 (no memory tier) or a positive byte budget")
            }
            guard maximumReaders >= 1 else {
                throw CacheError(.invalidConfiguration, "maximumReaders is \(maximumReaders); it must be at least 1")
            }
        }
    }
}
