import Foundation
import LLMCache
import LLMCacheSQLite
import Testing

@Suite("Export and import")
struct ExportImportTests {
    static func sampleEntries(at now: CacheTimestamp) -> [CacheEntry] {
        var entries: [CacheEntry] = []
        for i in 0..<50 {
            var entry = testEntry(
                "x\(i)",
                at: now - .seconds(i),
                value: String(repeating: "é漢\(i)", count: i),
                namespace: i.isMultiple(of: 2) ? "team-a" : "team-b",
                model: "gpt-4o-\(i % 3)",
                tags: i.isMultiple(of: 5) ? ["t\(i)", "with,comma \"and quotes\""] : [],
                ttl: i.isMultiple(of: 3) ? .seconds(3600) : nil,
                semantic: i.isMultiple(of: 4)
                    ? SemanticRecord(scope: testKey("scope\(i)"), text: "question \(i)", embeddingModel: "minilm", vector: (0..<384).map { Float($0) * 0.001 - Float(i) })
                    : nil
            )
            if i.isMultiple(of: 7) {
                entry.encoding = .zstd
                entry.rawSize = 10 * entry.value.count
            }
            entries.append(entry)
        }
        entries.append(CacheEntry(key: testKey("binary"), value: Data((0...255).map { UInt8($0) }), createdAt: now))
        return entries
    }

    @Test("export then import into a fresh store is lossless")
    func roundTrip() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualCacheClock()
        let source = try SQLiteStore(path: directory.path("source.sqlite"), clock: clock)
        let entries = Self.sampleEntries(at: clock.now())
        try await source.set(contentsOf: entries)

        var document = CacheEntryJSONLines.headerLine() + Data("\n".utf8)
        for try await entry in source.entries() {
            document += try CacheEntryJSONLines.line(for: entry) + Data("\n".utf8)
        }
        var decoded: [CacheEntry] = []
        try CacheEntryJSONLines.decode(document) { entry, _ in decoded.append(entry) }

        let target = try SQLiteStore(path: directory.path("target.sqlite"), clock: clock)
        try await target.set(contentsOf: decoded)
        var imported: [CacheEntry] = []
        for try await entry in target.entries() { imported.append(entry) }
        #expect(imported.count == entries.count)
        #expect(Set(imported) == Set(entries))
        #expect(try await target.statistics().storedBytes == (try await source.statistics().storedBytes))
    }

    @Test("the CLI exports a namespace and imports it into another file")
    func commandLine() async throws {
        let directory = try TemporaryDirectory()
        let source = try SQLiteStore(path: directory.path("a.sqlite"))
        let entries = Self.sampleEntries(at: SystemCacheClock().now())
        try await source.set(contentsOf: entries)
        let file = directory.path("team-a.jsonl")

        let export = try launchLLMCache(["export", "--store", "sqlite:" + directory.path("a.sqlite"), "--namespace", "team-a", "--output", file])()
        #expect(export.status == 0, "\(export.stderr)")
        let expected = entries.filter { $0.namespace == "team-a" }
        #expect(export.stderr.contains("exported \(expected.count) entries"))

        let importing = try launchLLMCache(["import", "--store", "sqlite:" + directory.path("b.sqlite"), file])()
        #expect(importing.status == 0, "\(importing.stderr)")
        #expect(importing.stderr.contains("imported \(expected.count) entries"))
        let target = try SQLiteStore(path: directory.path("b.sqlite"))
        var imported = Set<CacheEntry>()
        for try await entry in target.entries() { imported.insert(entry) }
        #expect(imported == Set(expected))
    }

    static let malformedLines: [(line: String, message: String)] = [
        ("not json at all", "line 3"),
        (#"{"key":"abc"}"#, "line 3"),
        (#"{"key":"00","value":"","encoding":"identity","raw_size":0,"namespace":"n","model":"","tags":[],"created_at_ns":0,"compute_duration_ns":0}"#, "\"key\""),
        (String(repeating: "0", count: 0) + #"{"key":"\#(String(repeating: "a", count: 64))","value":"***","encoding":"identity","raw_size":0,"namespace":"n","model":"","tags":[],"created_at_ns":0,"compute_duration_ns":0}"#, "base64"),
    ]

    @Test("a malformed line stops the import before anything is stored, naming the line", arguments: malformedLines)
    func malformedLine(_ bad: (line: String, message: String)) async throws {
        let directory = try TemporaryDirectory()
        let good = try CacheEntryJSONLines.line(for: testEntry("good"))
        let document = CacheEntryJSONLines.headerLine() + Data("\n".utf8) + good + Data("\n\(bad.line)\n".utf8) + good + Data("\n".utf8)
        #expect(throws: CacheError.self) { try CacheEntryJSONLines.decode(document) { _, _ in } }

        let file = directory.path("bad.jsonl")
        try document.write(to: URL(fileURLWithPath: file))
        let target = directory.path("target.sqlite")
        let result = try launchLLMCache(["import", "--store", "sqlite:" + target, file])()
        #expect(result.status != 0)
        #expect(result.stderr.contains("line 3"), "\(result.stderr)")
        #expect(result.stderr.contains(bad.message), "\(result.stderr)")
        #expect(try await SQLiteStore(path: target).count() == 0, "part of a malformed file was imported")
    }

    @Test("a file of a newer format version is refused")
    func newerFormat() throws {
        let document = Data(#"{"format":"llm-cache-entries","version":2}"#.utf8) + Data("\n".utf8)
        let error = try #require(throws: CacheError.self) { try CacheEntryJSONLines.decode(document) { _, _ in } }
        #expect(error.code == .unsupportedVersion)
        let notOurs = Data(#"{"hello":"world"}"#.utf8)
        #expect(throws: CacheError.self) { try CacheEntryJSONLines.decode(notOurs) { _, _ in } }
    }
}

@Suite struct WarmCommandTests {
    @Test func warmFillsASQLiteFileAndRejectsABadFileWhole() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("warm.sqlite")
        let good = directory.path("good.jsonl")
        let lines = (0..<50).map { i in
            #"{"request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "question \#(i)"}]}, "response": "answer \#(i)", "tags": ["batch"]}"#
        }
        try lines.joined(separator: "\n").write(toFile: good, atomically: true, encoding: .utf8)
        let result = try launchLLMCache(["warm", "--store", "sqlite:\(database)", good])()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("stored 50 of 50 pairs"))
        let store = try SQLiteStore(path: database)
        #expect(try await store.count() == 50)

        let bad = directory.path("bad.jsonl")
        try (lines.prefix(3) + [#"{"request": {"model": 7}, "response": "x"}"#]).joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let other = directory.path("other.sqlite")
        let failure = try launchLLMCache(["warm", "--store", "sqlite:\(other)", bad])()
        #expect(failure.status != 0)
        #expect(failure.stderr.contains("line 4"), "\(failure.stderr)")
        #expect(failure.stderr.contains("request.model"), "\(failure.stderr)")
        #expect(!FileManager.default.fileExists(atPath: other))
    }
}
