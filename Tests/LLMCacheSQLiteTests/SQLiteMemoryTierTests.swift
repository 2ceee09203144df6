import Foundation
import LLMCache
@testable import LLMCacheSQLite
import Testing

/// The memory tier in front of the file answers repeated hits, and never
/// serves what another connection on the file changed or removed.
@Suite("SQLiteStore memory tier")
struct SQLiteMemoryTierTests {
    func open(_ path: String, tier: Bool = true) throws -> SQLiteStore {
        var configuration = SQLiteStore.Configuration(path: path)
        configuration.memoryTierBytes = tier ? 4 << 20 : 0
        return try SQLiteStore(configuration: configuration)
    }

    @Test("a repeated hit is answered by the memory tier")
    func repeatedHitsComeFromMemory() async throws {
        let directory = try TemporaryDirectory()
        let store = try open(directory.path("cache.sqlite"))
        try await store.set(testEntry("a"))
        #expect(store.memoryTier?.lookup(testKey("a")) == nil, "a write does not fill the tier")
        #expect(try await store.get(testKey("a"))?.value == Data("value of a".utf8))
        #expect(store.memoryTier?.lookup(testKey("a"))?.value == Data("value of a".utf8))
        #expect(try await store.get(testKey("a"))?.value == Data("value of a".utf8))
    }

    @Test("what another store on the file deletes, invalidates or replaces is not served from memory")
    func anotherWriterIsSeen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        let first = try open(path)
        // A second store: its own connections, as another process would have.
        let second = try open(path, tier: false)
        try await first.set(testEntry("a", tags: ["docs"]))
        try await first.set(testEntry("b"))
        try await first.set(testEntry("c"))
        for name in ["a", "b", "c"] { _ = try await first.get(testKey(name)) }
        #expect(first.memoryTier?.lookup(testKey("a")) != nil)

        #expect(try await second.invalidate(.tag("docs")) == 1)
        #expect(try await first.get(testKey("a")) == nil)

        #expect(try await second.delete(testKey("b")))
        #expect(try await first.get(testKey("b")) == nil)

        try await second.set(testEntry("c", value: "replaced"))
        #expect(try await first.get(testKey("c"))?.value == Data("replaced".utf8))
    }

    @Test("this store's own writes and invalidations reach its memory tier")
    func ownChangesAreSeen() async throws {
        let directory = try TemporaryDirectory()
        let store = try open(directory.path("cache.sqlite"))
        try await store.set(testEntry("a", tags: ["docs"]))
        _ = try await store.get(testKey("a"))
        try await store.set(testEntry("a", value: "second", tags: ["docs"]))
        #expect(try await store.get(testKey("a"))?.value == Data("second".utf8))
        #expect(try await store.invalidate(.tag("docs")) == 1)
        #expect(try await store.get(testKey("a")) == nil)
    }

    @Test("a negative memory budget is refused with a clear error")
    func negativeBudgetIsRefused() throws {
        let directory = try TemporaryDirectory()
        var configuration = SQLiteStore.Configuration(path: directory.path("cache.sqlite"))
        configuration.memoryTierBytes = -1
        #expect(throws: CacheError.self) { try SQLiteStore(configuration: configuration) }
    }
}
