import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import Synchronization

#if os(Linux)
import Glibc
#endif

extension ProxyBench {
    /// `proxy.hit.under_idle_flood_ms`: the p99 of exact hits, one at a time,
    /// while 10,000 idle connections and 200 that send a request head a byte
    /// a second are open (target < 50 ms). The proxy runs as its own process
    /// (`llm-cache serve`, this executable): both ends of 10,200 loopback
    /// connections in one process need twice as many open files.
    func measureHitUnderIdleFlood(into report: inout BenchReport, client: HTTPClient, upstreamURL: String) async throws {
        #if os(Linux)
        let idle = 10_000
        let slow = 200
        ServeCommand.raiseOpenFileLimit(toServe: idle + slow, logger: Logger(label: "bench.proxy", factory: { _ in SwiftLogNoOpLogHandler() }))
        let proxy = try await FloodedProxy.start(upstreamURL: upstreamURL + "/v1", connections: idle + slow + 100)
        defer { proxy.stop() }
        let url = "http://127.0.0.1:\(proxy.port)/v1/chat/completions"
        let body = String(decoding: sampleChatRequest(variant: 3_000_000), as: UTF8.self)
        _ = try await Self.post(client, url, body: body)
        guard try await Self.post(client, url, body: body).cache == "HIT" else { throw ValidationError("the flood proxy did not answer a repeat from the cache") }

        progress("hits under a flood: \(idle) idle and \(slow) slow connections to \(url)")
        let flood = ConnectionFlood(port: proxy.port, idle: idle, slow: slow)
        let opened = try await flood.open()
        defer { flood.close() }
        guard opened == idle + slow else { throw ValidationError("only \(opened) of \(idle + slow) flood connections opened") }
        var latencies: [Double] = []
        for index in 0..<(options.quick ? 220 : 1020) {
            var outcome: String?
            let milliseconds = try await Self.timed { outcome = try await Self.post(client, url, body: body).cache }
            guard outcome == "HIT" else { throw ValidationError("a repeat during the flood was not a hit (X-Cache: \(outcome ?? "none"))") }
            if index >= 20 { latencies.append(milliseconds) }
        }
        let sorted = latencies.sorted()
        report.add("proxy.hit.under_idle_flood_ms", sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)], "ms")
        #else
        progress("proxy.hit.under_idle_flood_ms skipped: the flood uses Linux sockets")
        #endif
    }
}

#if os(Linux)
/// `llm-cache serve` as a child process, with a header time-out long enough
/// for a flood to stay connected while it is measured.
struct FloodedProxy {
    let process: Process
    let port: Int

    static func start(upstreamURL: String, connections: Int) async throws -> FloodedProxy {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = [
            "serve", "--host", "127.0.0.1", "--port", "0", "--store", "memory", "--semantic", "off", "--upstream", upstreamURL,
            "--header-timeout", "600", "--max-connections", "\(connections)", "--log-level", "error",
        ]
        let out = Pipe()
        process.standardOutput = out
        // Its banner and logs would interleave with the bench's progress.
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "listening on http://HOST:PORT", once it accepts connections.
        var line = ""
        while !line.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.terminate()
            throw ValidationError("llm-cache serve did not say where it listens: '\(line)'")
        }
        return FloodedProxy(process: process, port: port)
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Idle connections that never speak and slow ones that send a request head
/// a byte a second, held open on a thread of their own until ``close()``.
final class ConnectionFlood: Sendable {
    let port: Int
    let idle: Int
    let slow: Int
    private let stopping = Atomic<Bool>(false)
    /// Opened between two probes: under the listen backlog (256), so the
    /// accept queue never overflows and drops handshakes.
    static let batch = 192
    static let slowHead = Array(("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nX-Padding: " + String(repeating: "p", count: 1000) + "\r\n\r\n").utf8)

    init(port: Int, idle: Int, slow: Int) {
        self.port = port
        self.idle = idle
        self.slow = slow
    }

    /// Opens every connection; returns how many opened.
    func open() async throws -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            Thread { self.run { continuation.resume(returning: $0) } }.start()
        }
    }

    func close() {
        stopping.store(true, ordering: .relaxed)
    }

    private func connect(blocking: Bool) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 || (!blocking && errno == EINPROGRESS) else {
            Glibc.close(fd)
            return nil
        }
        return fd
    }

    /// A request on a connection of its own, answered: the accept queue is
    /// first in, first out, so every connection opened before it was accepted.
    private func probe() -> Bool {
        guard let fd = connect(blocking: true) else { return false }
        defer { Glibc.close(fd) }
        let request = Array("GET /healthz HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&descriptor, 1, 60_000) > 0 {
            if buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) <= 0 { return true }
        }
        return false
    }

    private func run(_ opened: (Int) -> Void) {
        var open: [Int32] = []
        var slowOnes: [(fd: Int32, sent: Int)] = []
        let total = idle + slow
        let spacing = max(1, total / max(1, slow))
        var started = 0
        var reachable = true
        while started < total, reachable {
            var connecting: [pollfd] = []
            while started < total, connecting.count < Self.batch {
                started += 1
                if let fd = connect(blocking: false) { connecting.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            }
            // Every handshake done, then the probe.
            var left = connecting.count
            while left > 0, poll(&connecting, nfds_t(connecting.count), 10_000) > 0 {
                for index in connecting.indices where connecting[index].revents != 0 && connecting[index].events != 0 {
                    connecting[index].events = 0
                    left -= 1
                    let fd = connecting[index].fd
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    guard error == 0 else {
                        Glibc.close(fd)
                        continue
                    }
                    if (open.count + slowOnes.count) % spacing == 0, slowOnes.count < slow {
                        slowOnes.append((fd, 0))
                    } else {
                        open.append(fd)
                    }
                }
                for index in connecting.indices { connecting[index].revents = 0 }
                connecting.removeAll { $0.events == 0 }
            }
            reachable = left == 0 && probe()
        }
        opened(open.count + slowOnes.count)
        while !stopping.load(ordering: .relaxed) {
            for index in slowOnes.indices where slowOnes[index].sent < Self.slowHead.count {
                let byte = Self.slowHead[slowOnes[index].sent]
                if withUnsafePointer(to: byte, { Glibc.send(slowOnes[index].fd, $0, 1, Int32(MSG_NOSIGNAL)) }) == 1 { slowOnes[index].sent += 1 }
            }
            usleep(1_000_000)
        }
        for fd in open { Glibc.close(fd) }
        for entry in slowOnes { Glibc.close(entry.fd) }
    }
}
#endif
