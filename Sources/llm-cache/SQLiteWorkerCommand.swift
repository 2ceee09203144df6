import ArgumentParser
import Foundation
import LLMCache
import LLMCacheSQLite

/// One of several processes writing and reading one SQLite file at once: the
/// other side of the multi-process test and of `bench sqlite`. Hidden from help.
///
/// Writes keys `worker-<id>-<n>` for n = 0, 1, …, reading each back and an
/// earlier one of its own, and prints one JSON line: how many writes were
/// acknowledged, how many calls threw, how many reads returned a wrong value.
/// With `--announce`, also each acknowledged write as it happens, for the test
/// that kills a writer mid-run.
struct SQLiteWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlite-worker",
        abstract: "Write and read one SQLite store alongside other processes (for tests and benchmarks).",
        shouldDisplay: false
    )

    struct Report: Codable {
        var written: Int
        var errors: Int
        var mismatches: Int
    }

    @Option(help: "The SQLite file.")
    var path: String

    @Option(help: "This worker's number; keys are worker-<id>-<n>.")
    var worker: Int

    @Option(help: "Stop after this many writes.")
    var count: Int?

    @Option(help: "Stop after this many seconds.")
    var seconds: Double?

    @Option(help: "Value size in bytes.")
    var valueBytes: Int = 256

    @Flag(help: "Write each acknowledged write's number to standard output, unbuffered, the moment set returns.")
    var announce = false

    static func key(worker: Int, index: Int) -> CacheKey {
        CacheKey(hashing: Array("worker-\(worker)-\(index)".utf8))
    }

    static func value(worker: Int, index: Int, bytes: Int) -> Data {
        let prefix = "worker-\(worker)-\(index):"
        return Data((prefix + String(repeating: "x", count: max(0, bytes - prefix.utf8.count))).utf8)
    }

    func run() async throws {
        guard count != nil || seconds != nil else {
            throw ValidationError("give --count or --seconds")
        }
        let store = try SQLiteStore(path: path)
        let deadline = seconds.map { ContinuousClock.now + .milliseconds(Int($0 * 1000)) }
        var report = Report(written: 0, errors: 0, mismatches: 0)
        var index = 0
        while count.map({ index < $0 }) ?? true, deadline.map({ ContinuousClock.now < $0 }) ?? true {
            let key = Self.key(worker: worker, index: index)
            let value = Self.value(worker: worker, index: index, bytes: valueBytes)
            do {
                try await store.set(CacheEntry(key: key, value: value, namespace: "worker-\(worker)", tags: ["worker"], createdAt: SystemCacheClock().now()))
                report.written += 1
                // Unbuffered, so a process killed right after still has told
                // its parent about every write it acknowledged.
                if announce { FileHandle.standardOutput.write(Data("\(index)\n".utf8)) }
                if try await store.get(key)?.value != value { report.mismatches += 1 }
                let earlier = index / 2
                if try await store.get(Self.key(worker: worker, index: earlier))?.value != Self.value(worker: worker, index: earlier, bytes: valueBytes) {
                    report.mismatches += 1
                }
            } catch {
                report.errors += 1
                if report.errors <= 5 { progress("worker \(worker): \(error)") }
            }
            index += 1
        }
        let data = try JSONEncoder().encode(report)
        print(String(decoding: data, as: UTF8.self))
    }
}
