import Foundation
import NIOCore
import NIOPosix
import NIOSSL
@testable import LLMCacheRedis

/// A real `redis-server` on a free loopback port, started for one test and
/// stopped at its end. Persistence is off so nothing is written to disk.
final class RedisServer: @unchecked Sendable {
    // @unchecked: `process` is replaced only by start/stop/kill, which a test
    // calls from its own task one at a time; nothing else touches it.
    let port: Int
    let extraArguments: [String]
    private var process: Process?
    private let directory: URL
    /// Set for a server that speaks only TLS: how clients reach it.
    var tls: TLSConfiguration?

    static let executable: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "redis-server is not installed; run `sudo apt-get install redis-server` (or `make test`, which installs it)"
        }
    }

    struct NotReady: Error, CustomStringConvertible {
        let description: String
    }

    init(port: Int? = nil, arguments: [String] = []) throws {
        guard Self.executable != nil else { throw Missing() }
        self.port = try port ?? Self.freePort()
        self.extraArguments = arguments
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("llmcache-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Starts (or restarts) the server and waits until it answers PING.
    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning",
        ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        try await waitUntilReady()
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    func configuration() -> RedisClient.Configuration {
        var configuration = RedisClient.Configuration(host: "127.0.0.1", port: port, tls: tls)
        configuration.tlsServerName = tls == nil ? nil : "localhost"
        return configuration
    }

    /// Waits until a fresh connection has its PING answered, as after
    /// ``start()``: for a server resumed with ``pause(_:)``.
    func waitUntilAnswering() async throws { try await waitUntilReady() }

    private func waitUntilReady() async throws {
        // Polls for readiness, bounded; it is a start-up wait, not a timed assertion.
        var configuration = configuration()
        configuration.timeouts.connect = .milliseconds(200)
        for _ in 0..<250 {
            let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
            if let connection = try? await RedisConnection.connect(configuration: configuration, sslContext: sslContext, group: MultiThreadedEventLoopGroup.singleton) {
                defer { Task { await connection.close() } }
                do {
                    _ = try await connection.send(RedisCommand("PING"))
                    return
                } catch where error.code == .server {
                    // NOAUTH also proves the server is up when a password is required.
                    return
                } catch {}
            }
            if let process, !process.isRunning {
                throw NotReady(description: "redis-server exited at start-up with status \(process.terminationStatus) (arguments \(extraArguments))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw NotReady(description: "redis-server on port \(port) did not answer PING within 5 s")
    }

    /// Stops the server and waits for it to exit. SIGKILL, because a child
    /// of the test runner inherits its blocked-signal mask and would never see
    /// SIGTERM; with persistence off nothing is lost either way.
    func stop() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Kills the server, as a crash would.
    func kill() { stop() }

    /// Freezes (SIGSTOP) or resumes (SIGCONT) the server: a hung server.
    func pause(_ paused: Bool) {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, paused ? SIGSTOP : SIGCONT)
    }

    deinit {
        if let process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        try? FileManager.default.removeItem(at: directory)
    }

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
        guard bound == 0 else { throw NotReady(description: "no free loopback port: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs `body` with a fresh server and stops it afterwards, even when `body` throws.
@discardableResult
func withRedisServer<T>(arguments: [String] = [], _ body: (RedisServer) async throws -> T) async throws -> T {
    let server = try RedisServer(arguments: arguments)
    try await server.start()
    do {
        let result = try await body(server)
        server.stop()
        return result
    } catch {
        server.stop()
        throw error
    }
}

/// Runs `body` with a client and shuts the client down afterwards.
@discardableResult
func withClient<T>(_ configuration: RedisClient.Configuration, _ body: (RedisClient) async throws -> T) async throws -> T {
    let client = try RedisClient(configuration: configuration)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}
