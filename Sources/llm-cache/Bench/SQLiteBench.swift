import ArgumentParser
import Foundation
import LLMCache
import LLMCacheSQLite

/// `llm-cache bench sqlite`: hits, durable writes, reopening a large file with
/// its semantic records, and two processes sharing one file.
struct SQLiteBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlite",
        abstract: "SQLiteStore: hit and write rates, reopen time with vectors, two processes on one file."
    )

    @OptionGroup var options: BenchOptions

    func run() async throws {
        var report = BenchReport(benchmark: "sqlite")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm-cache-bench-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let quick = options.quick
        let interval: Duration = quick ? .milliseconds(500) : .seconds(3)

        // Hits: a file of 1 KB values, read at random.
        let hitEntries = quick ? 2_000 : 20_000
        let hitStore = try SQLiteStore(path: path("hits.sqlite"))
        let keys = (0..<hitEntries).map { CacheKey(hashing: Array("hit-\($0)".utf8)) }
        try await fill(hitStore, keys: keys, valueBytes: 1024, dimensions: 0)
        progress("hits: \(hitEntries) entries of 1 KB")
        report.add("sqlite.hit.1thread", try await Self.rate(for: interval, tasks: 1) { i in
            guard try await hitStore.get(keys[Self.spread(i) % keys.count]) != nil else { throw CacheError(.corruptData, "bench: a stored key missed") }
        }, "ops/s")
        report.add("sqlite.hit.2threads", try await Self.rate(for: interval, tasks: 2) { i in
            guard try await hitStore.get(keys[Self.spread(i) % keys.count]) != nil else { throw CacheError(.corruptData, "bench: a stored key missed") }
        }, "ops/s")

        // Writes, one commit each, at both durability settings.
        for (name, durability) in [("durable", SQLiteStore.Configuration.Durability.normal), ("full", .full)] {
            var configuration = SQLiteStore.Configuration(path: path("writes-\(name).sqlite"))
            configuration.durability = durability
            let store = try SQLiteStore(configuration: configuration)
            let value = Data(repeating: 0x61, count: 1024)
            let now = SystemCacheClock().now()
            report.add("sqlite.write.\(name).1thread", try await Self.rate(for: interval, tasks: 1) { i in
                try await store.set(CacheEntry(key: CacheKey(hashing: Array("write-\(i)".utf8)), value: value, tags: ["bench"], createdAt: now))
            }, "ops/s")
        }

        // The disk's own ceiling for `.full`: a loop of what one FULL commit
        // asks of it (about eight WAL frames appended, then fdatasync), measured
        // right after, so the two figures see the same disk weather.
        let fsyncs = try Self.fsyncRate(path: path("fsync-probe"), for: interval)
        report.add("sqlite.fsync.1thread", fsyncs, "ops/s")
        if let full = report.figures.last(where: { $0.name == "sqlite.write.full.1thread" })?.value {
            report.add("sqlite.write.full.vs_fsync", full / fsyncs, "ratio")
        }

        // Reopen: a file of entries with 384-d vectors, opened and all semantic
        // records loaded, ready to build an index.
        let reopenEntries = quick ? 10_000 : 100_000
        let reopenPath = path("reopen.sqlite")
        do {
            let store = try SQLiteStore(path: reopenPath)
            let keys = (0..<reopenEntries).map { CacheKey(hashing: Array("reopen-\($0)".utf8)) }
            try await fill(store, keys: keys, valueBytes: 512, dimensions: 384)
        }
        progress("reopen: \(reopenEntries) entries with 384-d vectors written")
        let start = ContinuousClock.now
        let reopened = try SQLiteStore(path: reopenPath)
        let records = try await reopened.semanticRecords()
        let elapsed = ContinuousClock.now - start
        guard records.count == reopenEntries else {
            throw CacheError(.corruptData, "bench: reopened \(records.count) semantic records, expected \(reopenEntries)")
        }
        report.add("sqlite.reopen.\(reopenEntries / 1000)k", elapsed.seconds, "s")

        // Two processes writing and reading one file.
        let seconds = quick ? 3.0 : 60.0
        let (writes, errors, lost) = try await multiprocess(path: path("shared.sqlite"), seconds: seconds)
        report.add("sqlite.multiprocess.writes", Double(writes) / seconds, "ops/s")
        report.add("sqlite.multiprocess.errors", Double(errors), "points")
        report.add("sqlite.multiprocess.lost", Double(lost), "points")

        report.print(json: options.json)
    }

    /// Writes `keys` in transactions of 1,000, with semantic records of
    /// `dimensions` when it is not zero.
    private func fill(_ store: SQLiteStore, keys: [CacheKey], valueBytes: Int, dimensions: Int) async throws {
        let now = SystemCacheClock().now()
        let value = Data(repeating: 0x62, count: valueBytes)
        var batch: [CacheEntry] = []
        for (i, key) in keys.enumerated() {
            var vector: [Float] = []
            if dimensions > 0 {
                vector = (0..<dimensions).map { Float(($0 &* 31 &+ i) % 97) / 97 }
            }
            batch.append(CacheEntry(
                key: key, value: value, model: "bench-model", tags: ["bench"], createdAt: now,
                semantic: dimensions > 0 ? SemanticRecord(scope: key, text: "question number \(i)", embeddingModel: "bench-embedding", vector: vector) : nil
            ))
            if batch.count == 1000 {
                try await store.set(contentsOf: batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await store.set(contentsOf: batch) }
    }

    /// Runs two `sqlite-worker` processes on one file for `seconds`, then checks
    /// every write they acknowledged reads back intact.
    private func multiprocess(path: String, seconds: Double) async throws -> (writes: Int, errors: Int, lost: Int) {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var processes: [(Process, Pipe)] = []
        for worker in 1...2 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["sqlite-worker", "--path", path, "--worker", "\(worker)", "--seconds", "\(seconds)"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            processes.append((process, output))
        }
        progress("multiprocess: 2 processes writing one file for \(seconds) s")
        var writes = 0
        var errors = 0
        var lost = 0
        let store = try SQLiteStore(path: path)
        for (worker, (process, output)) in zip(1...2, processes) {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0, let report = try? JSONDecoder().decode(SQLiteWorkerCommand.Report.self, from: data) else {
                errors += 1
                progress("worker \(worker) exited with status \(process.terminationStatus)")
                continue
            }
            writes += report.written
            errors += report.errors + report.mismatches
            // Keys are numbered in order and a failed write leaves a gap, so
            // every index tried is read; acknowledged writes not found are lost.
            var found = 0
            for index in 0..<(report.written + report.errors) {
                let expected = SQLiteWorkerCommand.value(worker: worker, index: index, bytes: 256)
                if try await store.get(SQLiteWorkerCommand.key(worker: worker, index: index))?.value == expected { found += 1 }
            }
            lost += max(0, report.written - found)
        }
        return (writes, errors, lost)
    }

    /// Operations per second of `body` over `duration`, on `tasks` concurrent tasks.
    private static func rate(
        for duration: Duration,
        tasks: Int,
        _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Double {
        let start = ContinuousClock.now
        let deadline = start + duration
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var count = 0
                    while true {
                        for _ in 0..<64 { try await body(task &* 1_000_003 &+ count); count += 1 }
                        if ContinuousClock.now >= deadline { return count }
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / (ContinuousClock.now - start).seconds
    }

    /// Appends 8 frames of 4,120 bytes (a WAL frame: header and page) and
    /// `fdatasync`s, over and over for `duration`; returns syncs per second.
    private static func fsyncRate(path: String, for duration: Duration) throws -> Double {
        let descriptor = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw CacheError(.backendUnavailable, "bench: cannot create \(path): errno \(errno)") }
        defer {
            close(descriptor)
            unlink(path)
        }
        let frames = [UInt8](repeating: 0x63, count: 8 * 4120)
        var offset = 0
        var syncs = 0
        let start = ContinuousClock.now
        let deadline = start + duration
        while ContinuousClock.now < deadline {
            let written = frames.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            guard written == frames.count, fdatasync(descriptor) == 0 else {
                throw CacheError(.backendUnavailable, "bench: writing \(path) failed: errno \(errno)")
            }
            syncs += 1
            // Wrap at 4 MB, as a WAL is reused after each checkpoint.
            offset = (offset + frames.count) % (4 << 20)
        }
        return Double(syncs) / (ContinuousClock.now - start).seconds
    }

    /// A cheap scramble of `i`, so reads jump around the file.
    private static func spread(_ i: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(bitPattern: Int64(i)) &* 0x9E37_79B9_7F4A_7C15) >> 17)
    }
}
