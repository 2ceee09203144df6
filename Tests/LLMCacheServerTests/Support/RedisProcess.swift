import Foundation
import LLMCacheRedis

/// A real `redis-server` on a free loopback port for the proxy's tests, which
/// can be killed and started again on the same port (the Redis tests have a
/// fuller one; test targets cannot share code).
final class RedisProcess: @unchecked Sendable {
    // @unchecked: `process` is replaced only by start/stop, which a test
    // calls from its own task one at a time; nothing else touches it.
    let port: Int
    private var process: Process?

    static let executable: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init() throws {
        guard Self.executable != nil else {
            throw Failure(description: "redis-server is not installed; run `sudo apt-get install redis-server` (or `make test`, which installs it)")
        }
        port = try Self.freePort()
    }

    var configuration: RedisClient.Configuration { RedisClient.Configuration(host: "127.0.0.1", port: port) }

    /// Starts (or restarts) the server and waits until it answers PING.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        var configuration = self.configuration
        configuration.timeouts.connect = .milliseconds(200)
        configuration.circuitBreaker.failureThreshold = 1_000
        let client = try RedisClient(configuration: configuration)
        defer { Task { await client.shutdown() } }
        // A start-up wait, bounded; not a timed assertion.
        for _ in 0..<250 {
            if (try? await client.send("PING"))?.string == "PONG" { return }
            guard process.isRunning else { throw Failure(description: "redis-server exited at start-up with status \(process.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "redis-server on port \(port) did not answer PING within 5 s")
    }

    /// Kills the server (SIGKILL: a child of the test runner may not see SIGTERM).
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit { stop() }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "no free loopback port: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
