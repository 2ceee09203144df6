import Foundation
import LLMCache
import LLMCacheSQLite

/// A fresh directory per test, removed when the test is done with it.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("llmcache-sqlite-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

func testKey(_ name: String) -> CacheKey { CacheKey(hashing: Array("sqlite-tests:\(name)".utf8)) }

func testEntry(
    _ name: String,
    at time: CacheTimestamp = ManualCacheClock().now(),
    value: String? = nil,
    namespace: String = "default",
    model: String = "gpt-4o",
    tags: [String] = [],
    ttl: Duration? = nil,
    semantic: SemanticRecord? = nil
) -> CacheEntry {
    CacheEntry(
        key: testKey(name),
        value: Data((value ?? "value of \(name)").utf8),
        namespace: namespace,
        model: model,
        tags: tags,
        createdAt: time,
        expiresAt: ttl.map { time + $0 },
        computeDuration: .milliseconds(120),
        semantic: semantic
    )
}

/// The `llm-cache` executable built beside the test bundle.
func llmCacheExecutable() -> URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("llm-cache")
}

struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Starts `llm-cache` with `arguments`; the returned closure waits for it.
func launchLLMCache(_ arguments: [String]) throws -> () -> ProcessResult {
    let process = Process()
    process.executableURL = llmCacheExecutable()
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return {
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}
