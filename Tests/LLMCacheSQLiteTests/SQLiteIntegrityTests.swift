import Foundation
import GRDB
import InMemoryLogging
import LLMCache
import Logging
@testable import LLMCacheSQLite
import Testing

/// A value of `size` bytes that appears nowhere else in the file, so a test
/// can find it in the raw bytes.
private func distinctiveValue(_ name: String, size: Int = 6000) -> String {
    var text = "<<\(name)>>"
    var counter = 0
    while text.utf8.count < size {
        text += " \(name)-\(counter)"
        counter += 1
    }
    return text
}

private func rowCount(_ path: String, key: CacheKey) throws -> Int {
    try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM entries WHERE key = ?", arguments: [Data(key.bytes)]) ?? 0 }
}

/// Flips one byte in the middle of the first place `marker` occurs in the
/// file at `path`: damage on disk, below SQLite.
private func flipByte(in path: String, inside marker: String) throws {
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let range = try #require(bytes.range(of: Data(marker.utf8)), "the value is not in the file")
    let index = range.lowerBound + range.count / 2
    bytes[index] ^= 0x20
    try bytes.write(to: URL(fileURLWithPath: path))
}

@Suite("SQLiteStore checksums")
struct SQLiteChecksumTests {
    @Test("a value damaged in the file is a miss, is deleted and is counted", arguments: [0, 8 << 20])
    func damagedValueOnDisk(memoryTierBytes: Int) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        let damagedValue = distinctiveValue("damaged")
        do {
            let store = try SQLiteStore(path: path)
            try await store.set(testEntry("damaged", value: damagedValue))
            try await store.set(testEntry("intact", value: distinctiveValue("intact")))
        }
        // Closed: the WAL is checkpointed into the file, where the bytes are flipped.
        try flipByte(in: path, inside: "<<damaged>> damaged-0 damaged-1")

        let log = InMemoryLogHandler()
        var configuration = SQLiteStore.Configuration(path: path)
        configuration.memoryTierBytes = memoryTierBytes
        let store = try SQLiteStore(configuration: configuration, logger: Logger(label: "test") { _ in log })
        #expect(try await store.get(testKey("damaged")) == nil, "a damaged value was served")
        #expect(try rowCount(path, key: testKey("damaged")) == 0, "the damaged row was not deleted")
        #expect(try await store.statistics().corruptEntries == 1)
        #expect(try await store.statistics().entries == 1)
        #expect(try await store.get(testKey("intact"))?.value == Data(distinctiveValue("intact").utf8))
        let warning = try #require(log.entries.first { $0.level == .warning })
        #expect(warning.message.description.contains("does not match its checksum"))
        #expect(warning.metadata["key"] == "\(testKey("damaged").hex)")

        // The answer is stored again and served.
        try await store.set(testEntry("damaged", value: damagedValue))
        #expect(try await store.get(testKey("damaged"))?.value == Data(damagedValue.utf8))
    }

    @Test("a value moved to another row's key is caught, because the key is checksummed")
    func valueSwappedBetweenRows() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        let store = try SQLiteStore(path: path, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await store.set(testEntry("a", value: "answer for a"))
        try await store.set(testEntry("b", value: "answer for b"))
        // Value and checksum both copied from row b: each intact, but under the wrong key.
        try await DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: "UPDATE entries SET (value, checksum) = (SELECT value, checksum FROM entries WHERE key = ?) WHERE key = ?",
                arguments: [Data(testKey("b").bytes), Data(testKey("a").bytes)]
            )
        }
        #expect(try await store.get(testKey("a")) == nil)
        #expect(try await store.get(testKey("b"))?.value == Data("answer for b".utf8))
        #expect(try await store.statistics().corruptEntries == 1)
    }

    @Test("export skips and deletes a damaged entry")
    func exportSkipsDamaged() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        let store = try SQLiteStore(path: path, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        for name in ["a", "b", "c"] { try await store.set(testEntry(name)) }
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE entries SET value = X'00' || value WHERE key = ?", arguments: [Data(testKey("b").bytes)])
        }
        var exported: [CacheKey] = []
        for try await entry in store.entries() { exported.append(entry.key) }
        #expect(Set(exported) == [testKey("a"), testKey("c")])
        #expect(try rowCount(path, key: testKey("b")) == 0)
        #expect(try await store.statistics().corruptEntries == 1)
    }

    @Test("a burst of damaged entries is counted in full but logged at most once a second")
    func warningsAreRateLimited() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        let log = InMemoryLogHandler()
        let store = try SQLiteStore(path: path, logger: Logger(label: "test") { _ in log })
        for i in 0..<20 { try await store.set(testEntry("e\(i)")) }
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE entries SET value = X'00' || value")
        }
        let start = ContinuousClock.now
        for i in 0..<20 { #expect(try await store.get(testKey("e\(i)")) == nil) }
        let elapsed = ContinuousClock.now - start
        #expect(try await store.statistics().corruptEntries == 20)
        #expect(try await store.count() == 0)
        // One line a second at most: on a quiet machine the 20 reads take
        // milliseconds and write one line; a loaded one may take seconds,
        // and may write one more for each second they took.
        let warnings = log.entries.filter { $0.level == .warning }
        let allowed = 1 + Int(elapsed.components.seconds)
        #expect(warnings.count >= 1, "a damaged entry was not logged")
        #expect(warnings.count <= allowed, "\(warnings.count) lines for 20 damaged entries read in \(elapsed)")
    }

    @Test("entries written before checksums (schema version 2) are still served after the upgrade")
    func entriesWithoutChecksum() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("v2.sqlite")
        let clock = ManualCacheClock()
        let old = testEntry("old", at: clock.now(), value: distinctiveValue("old"))
        try await DatabaseQueue(path: path).writeWithoutTransaction { db in
            try SQLiteSchema.migrate(db, path: path, to: 2)
            try db.execute(
                sql: "INSERT INTO entries (key, namespace, model, tags, created_at, compute_ns, encoding, raw_size, weight, value) VALUES (?, ?, ?, ?, ?, ?, 'identity', ?, ?, ?)",
                arguments: [Data(old.key.bytes), old.namespace, old.model, SQLiteRowCodec.blob(tags: old.tags), old.createdAt.nanosecondsSinceEpoch, old.computeDuration.nanoseconds, old.rawSize, old.weight, old.value]
            )
        }
        let store = try SQLiteStore(path: path, clock: clock)
        #expect(try await store.get(old.key) == old)
        #expect(try await DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "PRAGMA user_version") } == SQLiteSchema.currentVersion)
        // New writes carry a checksum; the old row keeps none and stays readable.
        try await store.set(testEntry("new", at: clock.now()))
        let checksums = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT key, checksum FROM entries").map { (row: Row) -> (Data, Int64?) in (row[0], row[1]) }
        }
        #expect(checksums.first { $0.0 == Data(old.key.bytes) }?.1 == nil)
        let stored = try #require(checksums.first { $0.0 == Data(testKey("new").bytes) }?.1)
        #expect(UInt32(stored) == EntryChecksum.of(key: testKey("new"), value: testEntry("new", at: clock.now()).value))
        #expect(try await store.statistics().corruptEntries == 0)
    }
}

/// Makes a file impossible to write for this process, also as root (whom
/// permissions do not stop): `chattr +i` then, `chmod` otherwise. `false`
/// when neither works here (root without CAP_LINUX_IMMUTABLE, or a file
/// system without the attribute).
private func makeUnwritable(_ path: String) -> Bool {
    if geteuid() != 0 {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        return chmod(path, isDirectory.boolValue ? 0o555 : 0o444) == 0
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["chattr", "+i", path]
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return false }
    // Check that it took: the attribute is not enforced everywhere.
    if let handle = FileHandle(forWritingAtPath: path) {
        try? handle.close()
        makeWritable(path)
        return false
    }
    return true
}

private func makeWritable(_ path: String) {
    if geteuid() != 0 {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        chmod(path, isDirectory.boolValue ? 0o755 : 0o644)
        return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["chattr", "-i", path]
    try? process.run()
    process.waitUntilExit()
}

/// Whether ``makeUnwritable(_:)`` works on this machine.
private let canMakeFilesUnwritable: Bool = {
    guard let directory = try? TemporaryDirectory() else { return false }
    let path = directory.path("probe")
    guard FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) else { return false }
    defer { makeWritable(path) }
    return makeUnwritable(path)
}()

@Suite("SQLiteStore damaged and unwritable files")
struct SQLiteDamagedFileTests {
    enum Damage: String, CaseIterable, CustomTestStringConvertible {
        case garbageHeader = "header overwritten with garbage"
        case truncated = "file cut short"
        case randomBytes = "not a database at all"

        var testDescription: String { rawValue }

        func apply(to path: String) throws {
            switch self {
            case .garbageHeader:
                let handle = try #require(FileHandle(forWritingAtPath: path))
                try handle.write(contentsOf: Data((0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
                try handle.close()
            case .truncated:
                let handle = try #require(FileHandle(forWritingAtPath: path))
                try handle.truncate(atOffset: 6 * 4096)
                try handle.close()
            case .randomBytes:
                try Data((0..<8192).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: path))
            }
        }
    }

    /// A closed cache file with 300 entries of 3 KB (about 250 pages).
    private func filledFile(_ path: String) async throws {
        let store = try SQLiteStore(path: path)
        for i in 0..<300 { try await store.set(testEntry("t\(i)", value: String(repeating: "v", count: 3000))) }
    }

    @Test("a damaged file is set aside with a log line saying where, and an empty cache starts in its place", arguments: Damage.allCases)
    func setAside(_ damage: Damage) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        try await filledFile(path)
        try damage.apply(to: path)
        let damagedBytes = try Data(contentsOf: URL(fileURLWithPath: path))

        let log = InMemoryLogHandler()
        var configuration = SQLiteStore.Configuration(path: path)
        configuration.onDamagedFile = .setAside
        let store = try SQLiteStore(configuration: configuration, logger: Logger(label: "test") { _ in log })
        #expect(try await store.count() == 0)
        try await store.set(testEntry("fresh"))
        #expect(try await store.get(testKey("fresh")) != nil)

        let moved = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("cache.sqlite.damaged-") }
        #expect(moved.count == 1, "files: \(moved)")
        let movedPath = directory.path(try #require(moved.first))
        #expect(try Data(contentsOf: URL(fileURLWithPath: movedPath)) == damagedBytes, "the damaged file was not kept as it was")
        #expect(movedPath.range(of: #"\.damaged-\d{8}T\d{6}Z$"#, options: .regularExpression) != nil)
        let line = try #require(log.entries.first { $0.level == .error })
        #expect(line.message.description.contains("is damaged"))
        #expect(line.message.description.contains(movedPath))
        #expect(line.metadata["moved_to"] == "\(movedPath)")

        // The fresh file is a healthy cache for the next process too.
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.get(testKey("fresh")) != nil)
    }

    @Test("by default a damaged file fails the open and stays where and as it was", arguments: Damage.allCases)
    func failByDefault(_ damage: Damage) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        try await filledFile(path)
        try damage.apply(to: path)
        let damagedBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = try #require(throws: CacheError.self) { try SQLiteStore(path: path) }
        #expect(error.code == .corruptData)
        #expect(error.message.contains(path))
        #expect(error.message.contains("onDamagedFile"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == damagedBytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).allSatisfy { !$0.contains("damaged") })
    }

    @Test("damage inside the file is found on open by quickCheckOnOpen, and set aside")
    func quickCheck() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        try await filledFile(path)
        let (pageSize, root) = try await DatabaseQueue(path: path).read { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096,
             try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'entries'") ?? 0)
        }
        // The root page of the entries table, overwritten: header and length intact.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try handle.close()

        // Without the check, the open succeeds and the damage waits for a read.
        _ = try SQLiteStore(path: path)

        var configuration = SQLiteStore.Configuration(path: path)
        configuration.quickCheckOnOpen = true
        let error = try #require(throws: CacheError.self) { try SQLiteStore(configuration: configuration) }
        #expect(error.code == .corruptData)

        configuration.onDamagedFile = .setAside
        let log = InMemoryLogHandler()
        let store = try SQLiteStore(configuration: configuration, logger: Logger(label: "test") { _ in log })
        #expect(try await store.count() == 0)
        #expect(log.entries.contains { $0.level == .error && $0.message.description.contains("is damaged") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).contains { $0.hasPrefix("cache.sqlite.damaged-") })
    }

    @Test("another application's SQLite database is never set aside")
    func foreignDatabaseIsNotSetAside() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("app.sqlite")
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')")
        }
        var configuration = SQLiteStore.Configuration(path: path)
        configuration.onDamagedFile = .setAside
        let error = try #require(throws: CacheError.self) { try SQLiteStore(configuration: configuration) }
        #expect(error.message.contains("not an LLMCache store"))
        #expect(try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT name FROM users") } == ["ada"])
    }

    @Test("a store opened read-only serves hits, refuses writes, and answers damaged entries as misses without deleting")
    func readOnly() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            try await store.set(testEntry("kept"))
            try await store.set(testEntry("damaged"))
        }
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE entries SET value = X'00' || value WHERE key = ?", arguments: [Data(testKey("damaged").bytes)])
        }
        var configuration = SQLiteStore.Configuration(path: path)
        configuration.readOnly = true
        let log = InMemoryLogHandler()
        let store = try SQLiteStore(configuration: configuration, logger: Logger(label: "test") { _ in log })
        #expect(store.isReadOnly)
        #expect(try await store.get(testKey("kept")) == testEntry("kept"))
        #expect(try await store.count() == 2)
        let refused = await #expect(throws: CacheError.self) { try await store.set(testEntry("new")) }
        #expect(refused?.code == .backendUnavailable)
        #expect(refused?.message.contains("read-only") == true)
        await #expect(throws: CacheError.self) { try await store.delete(testKey("kept")) }
        #expect(try await store.get(testKey("damaged")) == nil)
        #expect(try rowCount(path, key: testKey("damaged")) == 1)
        #expect(try await store.statistics().corruptEntries == 1)
        #expect(log.entries.contains { $0.message.description.contains("left in place") })
    }

    @Test(
        "a file this user cannot write is opened read-only with a log line saying how to fix it",
        .enabled(if: canMakeFilesUnwritable, "needs chmod (not root) or chattr +i (root)")
    )
    func unwritableFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("cache.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            try await store.set(testEntry("kept"))
        }
        try #require(makeUnwritable(path))
        defer { makeWritable(path) }

        let strict = try #require(throws: CacheError.self) { try SQLiteStore(path: path) }
        #expect(strict.code == .backendUnavailable)

        var configuration = SQLiteStore.Configuration(path: path)
        configuration.onUnwritableFile = .openReadOnly
        let log = InMemoryLogHandler()
        let store = try SQLiteStore(configuration: configuration, logger: Logger(label: "test") { _ in log })
        #expect(store.isReadOnly)
        #expect(try await store.get(testKey("kept")) == testEntry("kept"))
        await #expect(throws: CacheError.self) { try await store.set(testEntry("new")) }
        let line = try #require(log.entries.first { $0.level == .error })
        #expect(line.message.description.contains("read-only"))
        #expect(line.message.description.contains("permissions"))
    }

    @Test(
        "a damaged file whose directory cannot be written is left as it is, and says why",
        .enabled(if: canMakeFilesUnwritable, "needs chmod (not root) or chattr +i (root)")
    )
    func damagedInUnwritableDirectory() async throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path("locked")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let path = folder + "/cache.sqlite"
        let garbage = Data(repeating: 0x5A, count: 4096)
        try garbage.write(to: URL(fileURLWithPath: path))
        try #require(makeUnwritable(folder))
        defer { makeWritable(folder) }

        var configuration = SQLiteStore.Configuration(path: path)
        configuration.onDamagedFile = .setAside
        let error = try #require(throws: CacheError.self) { try SQLiteStore(configuration: configuration) }
        #expect(error.code == .corruptData)
        #expect(error.message.contains("could not be moved aside"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["cache.sqlite"])
    }

    @Test("llm-cache serve starts on a damaged file, sets it aside and serves")
    func serveStartsOnDamagedFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("damaged.sqlite")
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = llmCacheExecutable()
        process.arguments = ["serve", "--port", "0", "--upstream", "http://127.0.0.1:9/v1", "--semantic", "off", "--store", "sqlite:" + path]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LLMCACHE_") }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        // Until it says it listens, or exits.
        var stdout = ""
        while !stdout.contains("listening on") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            stdout += String(decoding: chunk, as: UTF8.self)
        }
        #expect(stdout.contains("listening on"), "serve did not start: \(stdout)")
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("is damaged"), "no log line: \(stderr)")
        let moved = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("damaged.sqlite.damaged-") }
        #expect(moved.count == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.path(try #require(moved.first)))) == Data(repeating: 0x5A, count: 4096))
    }
}
