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

        /// The database file. Created when missing (its directory must exist).
        public var path: String

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
