import Foundation
import GRDB
import LLMCache
import LLMCacheConformance
@testable import LLMCacheSQLite
import Testing

@Suite("SQLiteStore conformance")
struct SQLiteStoreConformanceTests {
    @Test("CacheStore contract", arguments: ConformanceCase.all)
    func conformance(_ check: ConformanceCase) async throws {
        try await run(check, memoryTierBytes: 0)
    }

    @Test("CacheStore contract with a memory tier in front", arguments: ConformanceCase.all)
    func conformanceWithMemoryTier(_ check: ConformanceCase) async throws {
        try await run(check, memoryTierBytes: 8 << 20)
    }

    private func run(_ check: ConformanceCase, memoryTierBytes: Int) async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualCacheClock()
        var configuration = SQLiteStore.Configuration(path: directory.path("conformance.sqlite"))
        configuration.maximumBytes = 64 << 20
        configuration.maximumEntryWeight = 1 << 20
        configuration.memoryTierBytes = memoryTierBytes
        let store = try SQLiteStore(configuration: configuration, clock: clock)
        let harness = StoreHarness(store: store, clock: clock, maximumEntryWeight: configuration.maximumEntryWeight) { clock.advance(by: $0) }
        try await check.run(harness)
    }
}

@Suite("SQLiteStore persistence and files")
struct SQLiteStorePersistenceTests {
    @Test("entries, tags, expiry and semantic records survive reopening the file")
    func reopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        let clock = ManualCacheClock()
        let record = SemanticRecord(scope: testKey("scope"), text: "What is Swift?", embeddingModel: "minilm", vector: [0.5, -0.25, 1, .leastNonzeroMagnitude])
        do {
            let store = try SQLiteStore(path: path, clock: clock)
            try await store.set(testEntry("a", at: clock.now(), tags: ["docs"], semantic: record))
            try await store.set(testEntry("b", at: clock.now(), tags: ["docs", "v2"], ttl: .seconds(60)))
            try await store.set(testEntry("c", at: clock.now(), namespace: "other"))
        }
        let reopened = try SQLiteStore(path: path, clock: clock)
        let a = try #require(try await reopened.get(testKey("a")))
        #expect(a == testEntry("a", at: clock.now(), tags: ["docs"], semantic: record))
        #expect(try await reopened.count() == 3)
        let records = try await reopened.semanticRecords()
        #expect(records == [StoredSemanticRecord(key: testKey("a"), record: record)])
        #expect(try await reopened.semanticRecords(embeddingModel: "other-model").isEmpty)

        clock.advance(by: .seconds(61))
        #expect(try await reopened.get(testKey("b")) == nil)
        #expect(try await reopened.invalidate(.tag("docs")) == 1)
        #expect(try await reopened.semanticRecords().isEmpty)
        #expect(try await reopened.get(testKey("c")) != nil)
    }

    @Test("a file of random bytes is refused as corrupt and left untouched")
    func randomBytes() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("random.sqlite")
        let bytes = Data((0..<8192).map { _ in UInt8.random(in: 0...255) })
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: CacheError.self) { try SQLiteStore(path: path) }
        #expect(error.code == .corruptData)
        #expect(error.message.contains(path))
        #expect(error.message.contains("move it aside"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
    }

    @Test("a truncated file fails with corruptData, never a crash")
    func truncated() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("truncated.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            for i in 0..<300 { try await store.set(testEntry("t\(i)", value: String(repeating: "v", count: 3000))) }
        }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 6 * 4096)
        try handle.close()

        var failure: CacheError?
        do {
            let store = try SQLiteStore(path: path)
            for i in 0..<300 { _ = try await store.get(testKey("t\(i)")) }
            for try await _ in store.entries() {}
        } catch let error as CacheError {
            failure = error
        }
        #expect(failure?.code == .corruptData)
        #expect(failure?.message.contains(path) == true)
    }

    @Test("a SQLite database that is not a cache is refused and left untouched")
    func foreignDatabase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.sqlite")
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')")
        }
        let error = try #require(throws: CacheError.self) { try SQLiteStore(path: path) }
        #expect(error.code == .corruptData)
        #expect(error.message.contains("not an LLMCache store"))
        #expect(try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT name FROM users") } == ["ada"])
    }

    @Test("a file from a newer schema is refused with unsupportedVersion and its data kept")
    func newerSchema() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("newer.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            try await store.set(testEntry("kept"))
        }
        try await DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 99") }

        let error = try #require(throws: CacheError.self) { try SQLiteStore(path: path) }
        #expect(error.code == .unsupportedVersion)
        #expect(error.message.contains("99"))

        try await DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = \(SQLiteSchema.currentVersion)") }
        #expect(try await SQLiteStore(path: path).get(testKey("kept")) != nil)
    }

    @Test("a file of schema version 1 is migrated and keeps its entries")
    func olderSchema() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("v1.sqlite")
        let clock = ManualCacheClock()
        let old = testEntry("old", at: clock.now(), tags: ["legacy"])
        try await DatabaseQueue(path: path).writeWithoutTransaction { db in
            try SQLiteSchema.migrate(db, path: path, to: 1)
            try db.execute(
                sql: "INSERT INTO entries (key, namespace, model, tags, created_at, compute_ns, encoding, raw_size, weight, value) VALUES (?, ?, ?, ?, ?, ?, 'identity', ?, ?, ?)",
                arguments: [Data(old.key.bytes), old.namespace, old.model, SQLiteRowCodec.blob(tags: old.tags), old.createdAt.nanosecondsSinceEpoch, old.computeDuration.nanoseconds, old.rawSize, old.weight, old.value]
            )
            try db.execute(sql: "INSERT INTO entry_tags (tag, entry_id) VALUES ('legacy', 1)")
        }

        let store = try SQLiteStore(path: path, clock: clock)
        #expect(try await store.get(old.key) == old)
        let version = try await DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "PRAGMA user_version") }
        #expect(version == SQLiteSchema.currentVersion)
        let record = SemanticRecord(scope: testKey("s"), text: "hi", embeddingModel: "m", vector: [1])
        try await store.set(testEntry("new", at: clock.now(), semantic: record))
        #expect(try await store.get(testKey("new"))?.semantic == record)
        #expect(try await store.invalidate(.tag("legacy")) == 1)
    }

    @Test("a write blocked past the busy timeout fails with timeout and loses nothing")
    func lockedDatabase() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("locked.sqlite")
        var configuration = SQLiteStore.Configuration(path: path)
        configuration.busyTimeout = .milliseconds(100)
        let store = try SQLiteStore(configuration: configuration)
        try await store.set(testEntry("before"))

        var lockerConfiguration = GRDB.Configuration()
        lockerConfiguration.allowsUnsafeTransactions = true
        let locker = try DatabaseQueue(path: path, configuration: lockerConfiguration)
        try await locker.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }

        await #expect {
            try await store.set(testEntry("blocked"))
        } throws: { error in
            guard let error = error as? CacheError else { return false }
            return error.code == .timeout && error.message.contains(path)
        }
        #expect(try await store.get(testKey("before")) != nil, "reads go on while another process holds the write lock")

        try await locker.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        try await store.set(testEntry("after"))
        #expect(try await store.count() == 2)
    }

    @Test("an invalid configuration is refused", arguments: [
        { (c: inout SQLiteStore.Configuration) in c.maximumBytes = 0 },
        { (c: inout SQLiteStore.Configuration) in c.maximumEntryWeight = c.maximumBytes + 1 },
        { (c: inout SQLiteStore.Configuration) in c.maximumReaders = 0 },
        { (c: inout SQLiteStore.Configuration) in c.path = "" },
    ] as [@Sendable (inout SQLiteStore.Configuration) -> Void])
    func invalidConfiguration(_ change: @Sendable (inout SQLiteStore.Configuration) -> Void) throws {
        let directory = try TemporaryDirectory()
        var configuration = SQLiteStore.Configuration(path: directory.path("c.sqlite"))
        change(&configuration)
        let error = try #require(throws: CacheError.self) { try SQLiteStore(configuration: configuration) }
        #expect(error.code == .invalidConfiguration)
    }
}

@Suite("SQLiteStore budget and concurrency")
struct SQLiteStoreBudgetTests {
    @Test("the byte budget is kept by evicting the oldest writes, with events")
    func eviction() async throws {
        let directory = try TemporaryDirectory()
        var configuration = SQLiteStore.Configuration(path: directory.path("budget.sqlite"))
        configuration.maximumBytes = 64 * 1024
        configuration.maximumEntryWeight = 8 * 1024
        let store = try SQLiteStore(configuration: configuration)
        let events = store.events.subscribe(bufferSize: 10_000)
        for i in 0..<400 {
            try await store.set(testEntry("e\(i)", value: String(repeating: "x", count: 900)))
            let stored = try await store.byteSize()
            #expect(stored <= configuration.maximumBytes, "after write \(i): \(stored) bytes")
        }
        let statistics = try await store.statistics()
        #expect(statistics.evictions > 300)
        #expect(statistics.entries + statistics.evictions == 400)
        #expect(try await store.get(testKey("e399")) != nil, "the newest entry was evicted")
        #expect(try await store.get(testKey("e0")) == nil, "the oldest entry was kept")

        var evicted = Set<CacheKey>()
        for await event in events {
            if case .evicted(let key) = event { evicted.insert(key) }
            if evicted.count == statistics.evictions { break }
        }
        #expect(evicted.contains(testKey("e0")))
    }

    @Test("expired entries are purged by later writes and reported")
    func expiryPurge() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualCacheClock()
        let store = try SQLiteStore(path: directory.path("ttl.sqlite"), clock: clock)
        let events = store.events.subscribe()
        for i in 0..<10 { try await store.set(testEntry("x\(i)", at: clock.now(), ttl: .seconds(1))) }
        clock.advance(by: .seconds(2))
        try await store.set(testEntry("fresh", at: clock.now()))
        let statistics = try await store.statistics()
        #expect(statistics.entries == 1)
        #expect(statistics.expirations == 10)
        var expired = 0
        for await event in events {
            if case .expired = event { expired += 1 }
            if expired == 10 { break }
        }
        #expect(expired == 10)
    }

    @Test("tasks on two store objects over one file see each other's whole entries")
    func concurrentTasks() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("shared.sqlite")
        let first = try SQLiteStore(path: path)
        let second = try SQLiteStore(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                let store = worker.isMultiple(of: 2) ? first : second
                group.addTask {
                    for i in 0..<100 {
                        let name = "w\(worker)-\(i)"
                        try await store.set(testEntry(name, value: "\(name):payload", tags: ["w\(worker)"]))
                        let read = try await (worker.isMultiple(of: 2) ? second : first).get(testKey(name))
                        #expect(read?.value == Data("\(name):payload".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await first.count() == 800)
        #expect(try await second.invalidate(.tag("w3")) == 100)
        #expect(try await first.count() == 700)
    }

    /// What the default durability promises: a write `set` has acknowledged is in
    /// the file even if the process dies the next instant. (A power loss may still
    /// take the last commits of `.normal`; only `.full` syncs each one.)
    @Test("every write acknowledged before a SIGKILL is in the file afterwards")
    func acknowledgedWritesSurviveAKilledProcess() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("killed.sqlite")
        let process = Process()
        process.executableURL = llmCacheExecutable()
        process.arguments = ["sqlite-worker", "--path", path, "--worker", "7", "--seconds", "120", "--announce", "--value-bytes", "2000"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it mid-run, once it has acknowledged a few hundred writes.
        var announced = ""
        let reader = out.fileHandleForReading
        while announced.split(separator: "\n").count < 300 {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            announced += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGKILL)
        announced += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the worker ended before it was killed")

        let acknowledged = announced.split(separator: "\n").compactMap { Int($0) }
        try #require(acknowledged.count >= 300, "the worker acknowledged only \(acknowledged.count) writes")
        #expect(acknowledged == Array(0..<acknowledged.count))
        let store = try SQLiteStore(path: path)
        var missing: [Int] = []
        for index in acknowledged {
            let key = CacheKey(hashing: Array("worker-7-\(index)".utf8))
            let expected = Data(("worker-7-\(index):" + String(repeating: "x", count: 2000 - "worker-7-\(index):".utf8.count)).utf8)
            if try await store.get(key)?.value != expected { missing.append(index) }
        }
        #expect(missing.isEmpty, "acknowledged writes lost or damaged: \(missing.prefix(10))")
    }

    @Test("two processes writing one file lose and corrupt nothing")
    func twoProcesses() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("processes.sqlite")
        let perWorker = 300
        let waits = try (1...2).map { worker in
            try launchLLMCache(["sqlite-worker", "--path", path, "--worker", "\(worker)", "--count", "\(perWorker)"])
        }
        let store = try SQLiteStore(path: path)
        for i in 0..<100 { try await store.set(testEntry("parent-\(i)")) }
        for (worker, wait) in zip(1...2, waits) {
            let result = wait()
            #expect(result.status == 0, "worker \(worker) failed: \(result.stderr)")
            #expect(result.stdout.contains("\"errors\":0"), "worker \(worker): \(result.stdout) \(result.stderr)")
            #expect(result.stdout.contains("\"mismatches\":0"), "worker \(worker): \(result.stdout)")
            #expect(result.stdout.contains("\"written\":\(perWorker)"), "worker \(worker): \(result.stdout)")
        }
        #expect(try await store.count() == 2 * perWorker + 100)
        for worker in 1...2 {
            for i in 0..<perWorker {
                let key = CacheKey(hashing: Array("worker-\(worker)-\(i)".utf8))
                let value = try await store.get(key)?.value
                #expect(value.map { String(decoding: $0, as: UTF8.self).hasPrefix("worker-\(worker)-\(i):") } == true, "worker \(worker) entry \(i)")
            }
        }
    }
}
