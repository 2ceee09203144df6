import Foundation
import GRDB
import LLMCache
@testable import LLMCacheSQLite
import Testing

@Suite("SQLiteStore writes")
struct SQLiteWriterTests {
    static let edgeEntries: [CacheEntry] = [
        CacheEntry(key: testKey("empty-value"), value: Data(), namespace: "", model: "", tags: [], createdAt: CacheTimestamp(nanosecondsSinceEpoch: 0)),
        CacheEntry(
            key: testKey("unicode"), value: Data("réponse 🦊".utf8), namespace: "naïve", model: "模型", tags: ["", "a,b", "ü"],
            createdAt: CacheTimestamp(nanosecondsSinceEpoch: 1_767_225_600_123_456_789),
            expiresAt: CacheTimestamp(nanosecondsSinceEpoch: Int64.max), computeDuration: .nanoseconds(1)
        ),
        CacheEntry(
            key: testKey("semantic"), value: Data(repeating: 7, count: 70_000), tags: ["big"],
            createdAt: CacheTimestamp(nanosecondsSinceEpoch: 5),
            semantic: SemanticRecord(scope: testKey("scope"), text: "", embeddingModel: "m", vector: [])
        ),
    ]

    @Test("edge-case entries read back exactly at both durabilities", arguments: [SQLiteStore.Configuration.Durability.normal, .full])
    func roundTrip(_ durability: SQLiteStore.Configuration.Durability) async throws {
        let directory = try TemporaryDirectory()
        var configuration = SQLiteStore.Configuration(path: directory.path("edge.sqlite"))
        configuration.durability = durability
        let clock = ManualCacheClock()
        let store = try SQLiteStore(configuration: configuration, clock: clock)
        for entry in Self.edgeEntries { try await store.set(entry) }
        for entry in Self.edgeEntries {
            #expect(try await store.get(entry.key) == entry)
        }
        let reopened = try SQLiteStore(configuration: configuration, clock: clock)
        #expect(try await reopened.get(Self.edgeEntries[1].key) == Self.edgeEntries[1])
        #expect(try await reopened.invalidate(.tag("")) == 1)
        #expect(try await reopened.count() == 2)
    }

    @Test("a write that finds the file locked waits for the lock and then succeeds")
    func waitsForLock() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("wait.sqlite")
        let store = try SQLiteStore(path: path)
        var lockerConfiguration = GRDB.Configuration()
        lockerConfiguration.allowsUnsafeTransactions = true
        let locker = try DatabaseQueue(path: path, configuration: lockerConfiguration)
        try await locker.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }

        let write = Task { try await store.set(testEntry("waited")) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await store.get(testKey("waited")) == nil)
        try await locker.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        try await write.value
        #expect(try await store.get(testKey("waited")) != nil)
    }

    @Test("the WAL is copied into the database file while writes go on, and stays bounded")
    func walBounded() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("wal.sqlite")
        let store = try SQLiteStore(path: path)
        // About 9 WAL pages per write: more than the writer's own checkpoint
        // threshold in all, so the WAL must have started over at least once.
        let value = String(repeating: "w", count: 8 * 1024)
        for i in 0..<1500 { try await store.set(testEntry("w\(i)", value: value, tags: ["t"])) }
        let size = { (name: String) in ((try? FileManager.default.attributesOfItem(atPath: name))?[.size] as? Int) ?? 0 }
        #expect(size(path) > 4 << 20, "the database file holds \(size(path)) bytes: the WAL was not checkpointed")
        #expect(size(path + "-wal") < 40 << 20, "the WAL holds \(size(path + "-wal")) bytes")
        #expect(try await store.count() == 1500)
    }
}

@Suite("SQLiteStore durability settings")
struct SQLiteDurabilityTests {
    @Test("every writing connection syncs as configured", arguments: [(SQLiteStore.Configuration.Durability.normal, 1), (.full, 2)])
    func synchronous(_ durability: SQLiteStore.Configuration.Durability, level: Int) async throws {
        let directory = try TemporaryDirectory()
        var configuration = SQLiteStore.Configuration(path: directory.path("sync.sqlite"))
        configuration.durability = durability
        let store = try SQLiteStore(configuration: configuration)
        #expect(try #require(store.writer).synchronousLevel() == level, "the connection entries are stored on")
        #expect(try await store.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == level, "the connection deletes run on")
    }
}
