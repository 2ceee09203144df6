import AsyncHTTPClient
import Foundation
import LLMCacheFakeUpstream
import LLMCacheServer
import Logging
import NIOCore
import Testing

// Plain POSIX sockets and poll(2), as Glibc has them: Linux only.
#if os(Linux)
import Glibc

@Suite("Proxy: slow, idle and surplus client connections", .serialized)
struct ProxyConnectionTests {
    /// Short time-outs, so that each case takes about a second.
    static func short(_ configuration: inout ProxyServer.Configuration) {
        configuration.connections = .init(headerTimeout: .seconds(1), bodyTimeout: .seconds(1), idleTimeout: .seconds(1))
    }

    /// What each time-out test allows beyond the time-out before it counts
    /// the connection as never closed; only a failing run waits this long.
    static let slack: Duration = .seconds(10)

    @Test("a client that sends half a request head and stalls gets 408 and is closed after the header time-out")
    func halfHead() async throws {
        try await Harness.run(configure: Self.short) { h in
            let outcome = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nContent-")
                return client.readToClose(within: .seconds(1) + Self.slack)
            }
            let closed = try #require(outcome.closedAfter, "the connection was still open \(Self.slack) after the header time-out")
            #expect(closed >= .milliseconds(900))
            #expect(outcome.text.hasPrefix("HTTP/1.1 408"), "got \(outcome.text)")
        }
    }

    @Test("a client that trickles its request head a byte at a time is closed after the header time-out")
    func trickledHead() async throws {
        try await Harness.run(configure: Self.short) { h in
            let head = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n".utf8)
            let outcome = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                // A byte each 100 ms: the head would take 9 s, the time-out is 1 s.
                return client.trickle(head, every: .milliseconds(100), within: .seconds(1) + Self.slack)
            }
            let closed = try #require(outcome.closedAfter, "the connection was still open \(Self.slack) after the header time-out")
            #expect(closed >= .milliseconds(900))
            #expect(outcome.sent < head.count, "the whole head went out before the connection was closed")
            #expect(outcome.text.isEmpty || outcome.text.hasPrefix("HTTP/1.1 408"), "got \(outcome.text)")
        }
    }

    @Test("a client that sends a head and stalls its body gets 408 and is closed after the body time-out")
    func stalledBody() async throws {
        try await Harness.run(configure: Self.short) { h in
            let outcome = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer sk-test-one\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"model\":")
                return client.readToClose(within: .seconds(1) + Self.slack)
            }
            let closed = try #require(outcome.closedAfter, "the connection was still open \(Self.slack) after the body time-out")
            #expect(closed >= .milliseconds(900))
            #expect(outcome.text.hasPrefix("HTTP/1.1 408"), "got \(outcome.text)")
            #expect(h.upstream.snapshot.total == 0)
        }
    }

    @Test("a kept-alive connection with no request in flight is closed after the idle time-out, not before")
    func idleKeepAlive() async throws {
        try await Harness.run(configure: Self.short) { h in
            let (first, outcome) = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                try client.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
                let first = try client.readResponse(within: Self.slack)
                return (first, client.readToClose(within: .seconds(1) + Self.slack))
            }
            #expect(first.status == 200)
            let closed = try #require(outcome.closedAfter, "the idle connection was still open \(Self.slack) after the idle time-out")
            #expect(closed >= .milliseconds(900))
            #expect(outcome.text.isEmpty, "an idle connection got \(outcome.text)")
        }
    }

    @Test("on a kept-alive connection, a next request head that stalls gets the header time-out, not the idle one")
    func keptAliveHalfHead() async throws {
        try await Harness.run(configure: { $0.connections = .init(headerTimeout: .seconds(1), bodyTimeout: .seconds(1), idleTimeout: .seconds(60)) }) { h in
            let (first, begun, outcome) = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                try client.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
                let first = try client.readResponse(within: Self.slack)
                let begun = ContinuousClock.now - client.opened
                try client.send("GET /heal")
                return (first, begun, client.readToClose(within: begun + .seconds(1) + Self.slack))
            }
            #expect(first.status == 200)
            let closed = try #require(outcome.closedAfter, "the connection was still open \(Self.slack) after the header time-out")
            #expect(closed - begun >= .milliseconds(900))
            #expect(outcome.text.hasPrefix("HTTP/1.1 408"), "got \(outcome.text)")
        }
    }

    @Test("a kept-alive connection that goes on asking is served past the time-outs")
    func busyKeepAlive() async throws {
        try await Harness.run(configure: Self.short) { h in
            let statuses = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                var statuses: [Int] = []
                // Six requests 400 ms apart: 2.4 s on one connection whose time-outs are 1 s.
                for _ in 0..<6 {
                    try client.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
                    statuses.append(try client.readResponse(within: Self.slack).status)
                    Thread.sleep(forTimeInterval: 0.4)
                }
                return statuses
            }
            #expect(statuses == Array(repeating: 200, count: 6))
        }
    }

    @Test("a streamed response that lasts longer than the idle time-out is not cut")
    func longStream() async throws {
        try await Harness.run(configure: Self.short) { h in
            var request = h.request("/v1/chat/completions", body: Harness.chat("a slow stream", stream: true), headers: [("X-Fake-Hold", "long-stream")])
            request.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await h.client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            var body = response.body.makeAsyncIterator()
            var received = [UInt8]()
            // The upstream holds the stream after its first event.
            while let chunk = try await body.next() {
                received += chunk.readableBytesView
                if Harness.events(received).count >= 1 { break }
            }
            // Nothing is written for 2.5 idle time-outs; the idle timer must leave the connection alone.
            try await Task.sleep(for: .milliseconds(2500))
            h.upstream.release("long-stream")
            while let chunk = try await body.next() { received += chunk.readableBytesView }
            let events = Harness.events(received)
            #expect(events.last == Array("[DONE]".utf8), "the stream ended early: \(String(decoding: received, as: UTF8.self))")
        }
    }

    @Test("beyond the connection limit a new connection is closed at once, while the open ones are served")
    func connectionLimit() async throws {
        let limit = 3
        try await Harness.run(configure: { $0.connections.maximumConnections = limit }) { h in
            let (first, refused, again) = try await offPool {
                let clients = try (0..<limit).map { _ in try RawClient(port: h.port) }
                defer { clients.forEach { $0.close() } }
                // Each answer proves its connection holds a slot before the next one opens.
                let first = try clients.map { client in
                    try client.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
                    return try client.readResponse(within: Self.slack).status
                }
                let extra = try RawClient(port: h.port)
                defer { extra.close() }
                try? extra.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
                let refused = extra.readToClose(within: Self.slack)
                let again = try clients.map { client in
                    try client.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
                    return try client.readResponse(within: Self.slack).status
                }
                return (first, refused, again)
            }
            #expect(first == Array(repeating: 200, count: limit))
            #expect(refused.closedAfter != nil, "connection \(limit + 1) was not closed")
            #expect(refused.text.isEmpty, "connection \(limit + 1) was answered: \(refused.text)")
            #expect(again == Array(repeating: 200, count: limit))
        }
    }

    @Test("Expect: 100-continue gets 100 Continue before the body is sent, then the answer")
    func expectContinue() async throws {
        try await Harness.run { h in
            let body = Harness.chat("expect continue")
            let (interim, final) = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer sk-test-one\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
                let interim = try client.readHead(within: Self.slack)
                try client.send(body)
                return (interim, try client.readResponse(within: Self.slack))
            }
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "got \(interim)")
            #expect(final.status == 200)
            #expect(final.headers.lowercased().contains("x-cache: miss"))
            #expect(h.upstream.snapshot.chat == 1)
        }
    }

    @Test("Expect: 100-continue with a body over the limit gets 413 at once and no 100")
    func expectTooLarge() async throws {
        try await Harness.run(configure: { $0.maximumRequestBytes = 1024 }) { h in
            let answer = try await offPool {
                let client = try RawClient(port: h.port)
                defer { client.close() }
                try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer sk-test-one\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
                return try client.readResponse(within: Self.slack)
            }
            #expect(answer.status == 413)
            #expect(String(decoding: answer.body, as: UTF8.self).contains("--max-body-bytes"))
            #expect(h.upstream.snapshot.total == 0)
        }
    }

    /// The black-box failure: ten thousand idle connections and two hundred
    /// slow ones used to be held open for ever. The proxy runs as its own
    /// process (`llm-cache serve`), because both ends of 10,200 loopback
    /// connections do not fit in one process's open-file limit here (20,000).
    @Test("10,000 idle and 200 slow-header clients are each closed after the header time-out, while a hit is served")
    func flood() async throws {
        // The default; opening the flood takes about as long on a loaded
        // machine, so the hit below meets most or all of it.
        let timeout = 10
        let idle = 10_000
        let slow = 200
        try Self.raiseOpenFileLimit(to: idle + slow + 512)
        var logger = Logger(label: "proxy-tests")
        logger.logLevel = .critical
        let (ports, port) = AsyncStream<Int>.makeStream()
        let upstream = FakeUpstream(logger: logger) { port.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await upstream.run() }
            var iterator = ports.makeAsyncIterator()
            let upstreamPort = await iterator.next()!
            let proxy = try await ServeProcess.start([
                "--host", "127.0.0.1", "--port", "0", "--store", "memory", "--semantic", "off",
                "--upstream", "http://127.0.0.1:\(upstreamPort)/v1",
                "--header-timeout", "\(timeout)", "--idle-timeout", "\(timeout)", "--body-timeout", "\(timeout)",
                "--max-connections", "\(idle + slow + 100)", "--log-level", "error",
            ])
            // The hit goes on a connection of its own: the miss's may reach its idle time-out during the flood.
            let missClient = HTTPClient(eventLoopGroupProvider: .singleton)
            let hitClient = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let body = Harness.chat("a hit during a flood")
                let miss = try await Self.post(missClient, proxy.base, body: body)
                #expect(miss.cache == "MISS")

                let flood = Flood(idle: idle, slow: slow, guardTime: .seconds(timeout) + .seconds(30))
                let (events, continuation) = AsyncStream<Flood.Event>.makeStream()
                let port = proxy.port
                Thread { flood.run(port: port) { continuation.yield($0) } }.start()
                var floodEvents = events.makeAsyncIterator()
                guard case .connected(let failures, let stillOpen)? = await floodEvents.next() else { throw SocketError(message: "the flood did not start") }
                #expect(failures == 0, "\(failures) flood connections could not connect")

                let hit = try await Self.post(hitClient, proxy.base, body: body)
                #expect(hit.status == 200, "with \(stillOpen) flood connections open")
                #expect(hit.cache == "HIT")
                #expect(hit.body == miss.body)

                guard case .finished(let result)? = await floodEvents.next() else { throw SocketError(message: "the flood did not finish") }
                #expect(result.unclosed == 0, "\(result.unclosed) connections were still open 30 s after the header time-out")
                #expect(result.closed == idle + slow)
                // None before its time: the proxy starts its timer only after the client has called connect.
                #expect(result.earliestClose >= .seconds(timeout) - .milliseconds(100), "a connection was closed \(result.earliestClose) after it opened")
                #expect(result.slowHeadsCompleted == 0)
            } catch {
                try? await missClient.shutdown()
                try? await hitClient.shutdown()
                proxy.stop()
                group.cancelAll()
                throw error
            }
            try await missClient.shutdown()
            try await hitClient.shutdown()
            proxy.stop()
            group.cancelAll()
        }
    }

    static func post(_ client: HTTPClient, _ base: String, body: String) async throws -> (status: Int, cache: String?, body: [UInt8]) {
        var request = HTTPClientRequest(url: base + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk-test-one")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "X-Cache"), Array(bytes.readableBytesView))
    }

    static func raiseOpenFileLimit(to wanted: Int) throws {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        try #require(getrlimit(resource, &limit) == 0)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            try #require(setrlimit(resource, &limit) == 0)
        }
        try #require(limit.rlim_cur >= rlim_t(wanted), "the open-file limit (\(limit.rlim_cur), hard \(limit.rlim_max)) is below the \(wanted) this test needs")
    }
}

extension Harness {
    /// The proxy's port.
    var port: Int { Int(base.split(separator: ":").last!)! }
}

/// Runs blocking socket calls on a thread of their own, not on the
/// cooperative pool the proxy's handlers need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

struct SocketError: Error, CustomStringConvertible {
    var description: String
    /// A failed system call, with errno's message.
    init(_ call: String) { description = "\(call): \(String(cString: strerror(errno)))" }
    init(message: String) { description = message }
}

/// One client connection on a plain blocking POSIX socket, for the clients no
/// HTTP library would be: ones that stall, trickle or never speak. Every call
/// blocks; run them with ``offPool(_:)``.
struct RawClient: Sendable {
    let fd: Int32
    let opened: ContinuousClock.Instant

    struct Outcome: Sendable {
        /// What was read.
        var bytes: [UInt8] = []
        /// How long after connecting the proxy closed the connection; `nil`:
        /// still open when the wait ended.
        var closedAfter: Duration?
        /// Bytes sent (by ``RawClient/trickle(_:every:within:)``).
        var sent = 0
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    struct Response: Sendable {
        var status: Int
        var headers: String
        var body: [UInt8]
    }

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = SocketError("connect")
            Glibc.close(fd)
            throw error
        }
        self.fd = fd
        opened = .now
    }

    func close() { Glibc.close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw SocketError("send") }
            offset += written
        }
    }

    /// Waits up to `timeout` for something to read; returns the bytes, or
    /// `nil` once the peer has closed (an end of file or a reset), or `[]` on time-out.
    private func receive(timeout: Duration) -> [UInt8]? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = max(0, Int32(timeout / .milliseconds(1)))
        guard poll(&descriptor, 1, milliseconds) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[..<count]) : nil
    }

    /// Reads until the proxy closes the connection, at most until `limit`
    /// after it was opened.
    func readToClose(within limit: Duration) -> Outcome {
        var outcome = Outcome()
        while true {
            let left = opened + limit - .now
            guard left > .zero else { return outcome }
            guard let bytes = receive(timeout: left) else {
                outcome.closedAfter = .now - opened
                return outcome
            }
            outcome.bytes += bytes
        }
    }

    /// Sends `bytes` one at a time, `every` apart, until the proxy closes the
    /// connection or `limit` after it was opened.
    func trickle(_ bytes: [UInt8], every interval: Duration, within limit: Duration) -> Outcome {
        var outcome = Outcome()
        while .now - opened < limit {
            if outcome.sent < bytes.count {
                let written = bytes[outcome.sent...].prefix(1).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
                if written == 1 { outcome.sent += 1 }
            }
            guard let read = receive(timeout: interval) else {
                outcome.closedAfter = .now - opened
                return outcome
            }
            outcome.bytes += read
        }
        return outcome
    }

    /// Reads one response head (the status line and headers).
    func readHead(within limit: Duration) throws -> String {
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        while Self.headEnd(bytes) == nil {
            guard deadline > .now, let read = receive(timeout: deadline - .now) else { throw SocketError(message: "no response head") }
            bytes += read
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads one whole response framed by Content-Length (the proxy's
    /// non-streamed answers are).
    func readResponse(within limit: Duration) throws -> Response {
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        while true {
            if let end = Self.headEnd(bytes) {
                let head = String(decoding: bytes[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                if bytes.count - end >= length {
                    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                    return Response(status: status, headers: head, body: Array(bytes[end..<(end + length)]))
                }
            }
            guard deadline > .now, let read = receive(timeout: deadline - .now) else {
                throw SocketError(message: "no whole response in \(limit), got \(String(decoding: bytes, as: UTF8.self))")
            }
            bytes += read
        }
    }

    /// The index just past the blank line ending a head.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index - 3] == 13 && bytes[index - 2] == 10 && bytes[index - 1] == 13 && bytes[index] == 10 {
            return index + 1
        }
        return nil
    }
}

/// Many client connections on one thread, with poll(2): idle ones that never
/// speak, and slow ones that send a request head a byte every 200 ms. Records
/// when the proxy closes each.
final class Flood: Sendable {
    enum Event: Sendable {
        /// Every connection was opened (`failures` could not be), and `open` of them still are.
        case connected(failures: Int, open: Int)
        case finished(Result)
    }

    struct Result: Sendable {
        var closed = 0
        var unclosed = 0
        /// The shortest time from a connection's opening to its closing.
        var earliestClose: Duration = .seconds(1_000_000)
        /// Slow clients that got a whole head out before they were closed.
        var slowHeadsCompleted = 0
    }

    let idle: Int
    let slow: Int
    let guardTime: Duration
    static let slowHead = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer sk-test-one\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
    /// Connections opened between two probes: under the proxy's listen
    /// backlog (Hummingbird's 256), so that its accept queue never overflows.
    /// (An overflowing queue drops handshakes the client already counts as
    /// done: such a connection never reaches the proxy and is never closed.)
    static let batch = 192

    init(idle: Int, slow: Int, guardTime: Duration) {
        self.idle = idle
        self.slow = slow
        self.guardTime = guardTime
    }

    private struct Connection {
        var slow: Bool
        /// When `connect` was called: the proxy cannot have seen the connection earlier.
        var started: ContinuousClock.Instant
        var sent = 0
    }

    /// A set of sockets poll(2) watches, with what each is.
    private struct Watched {
        var descriptors: [pollfd] = []
        var connections: [Connection] = []

        var isEmpty: Bool { descriptors.isEmpty }

        mutating func append(_ fd: Int32, events: Int32, _ connection: Connection) {
            descriptors.append(pollfd(fd: fd, events: Int16(events), revents: 0))
            connections.append(connection)
        }

        /// Waits up to `milliseconds`, then calls `body` for each socket with
        /// events; `body` returns whether to keep watching it.
        mutating func poll(_ milliseconds: Int32, _ body: (Int32, Int32, inout Connection) -> Bool) {
            guard !descriptors.isEmpty, Glibc.poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0 else { return }
            var kept = 0
            for index in descriptors.indices {
                var entry = descriptors[index]
                var connection = connections[index]
                if entry.revents != 0 {
                    let events = Int32(entry.revents)
                    entry.revents = 0
                    if !body(entry.fd, events, &connection) { continue }
                }
                descriptors[kept] = entry
                connections[kept] = connection
                kept += 1
            }
            descriptors.removeLast(descriptors.count - kept)
            connections.removeLast(connections.count - kept)
        }
    }

    /// Opens every connection, reports `connected`, then waits until the
    /// proxy has closed them all or `guardTime` has passed, and reports the result.
    ///
    /// Connections are opened in batches; after each, a probe request on a
    /// connection of its own must be answered before the next batch: the
    /// accept queue is first in, first out, so by then the proxy has
    /// accepted the whole batch.
    func run(port: Int, _ report: @Sendable (Event) -> Void) {
        var open = Watched()
        var result = Result()
        var failures = 0
        var started = 0
        var slowStarted = 0
        let total = idle + slow
        let spacing = slow > 0 ? max(1, total / slow) : Int.max
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var nextTrickle = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 4096)

        func trickle() {
            let now = ContinuousClock.now
            guard now >= nextTrickle else { return }
            nextTrickle = now + .milliseconds(200)
            for index in open.connections.indices where open.connections[index].slow && open.connections[index].sent < Self.slowHead.count {
                let byte = Self.slowHead[open.connections[index].sent]
                if withUnsafePointer(to: byte, { Glibc.send(open.descriptors[index].fd, $0, 1, Int32(MSG_NOSIGNAL)) }) == 1 {
                    open.connections[index].sent += 1
                }
            }
        }
        func collectClosed(waiting milliseconds: Int32) {
            open.poll(milliseconds) { fd, _, connection in
                // Readable: a 408, the end of the stream or a reset.
                while true {
                    let read = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if read > 0 { continue }
                    if read < 0, errno == EAGAIN || errno == EWOULDBLOCK { return true }
                    break
                }
                result.closed += 1
                result.earliestClose = min(result.earliestClose, .now - connection.started)
                if connection.slow, connection.sent >= Self.slowHead.count { result.slowHeadsCompleted += 1 }
                Glibc.close(fd)
                return false
            }
        }

        while started < total {
            var connecting = Watched()
            while started < total, connecting.descriptors.count < Self.batch {
                started += 1
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                guard fd >= 0 else {
                    failures += 1
                    continue
                }
                let now = ContinuousClock.now
                let status = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard status == 0 || errno == EINPROGRESS else {
                    failures += 1
                    Glibc.close(fd)
                    continue
                }
                // The slow ones are spread through the idle ones.
                let isSlow = (started - 1) % spacing == 0 && slowStarted < slow
                if isSlow { slowStarted += 1 }
                connecting.append(fd, events: Int32(POLLOUT), Connection(slow: isSlow, started: now))
            }
            while !connecting.isEmpty {
                connecting.poll(50) { fd, events, connection in
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error != 0 || events & (POLLERR | POLLHUP) != 0 {
                        failures += 1
                        Glibc.close(fd)
                    } else {
                        open.append(fd, events: Int32(POLLIN), connection)
                    }
                    return false
                }
                trickle()
            }
            do {
                let probe = try RawClient(port: port)
                defer { probe.close() }
                try probe.send("GET /healthz HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n")
                if probe.readToClose(within: guardTime).closedAfter == nil { failures += total - started }
            } catch {
                failures += 1
            }
            trickle()
            collectClosed(waiting: 0)
        }
        report(.connected(failures: failures, open: open.descriptors.count))
        let guardDeadline = ContinuousClock.now + guardTime
        while !open.isEmpty, ContinuousClock.now < guardDeadline {
            trickle()
            collectClosed(waiting: max(1, min(200, Int32((nextTrickle - .now) / .milliseconds(1)))))
        }
        result.unclosed = open.descriptors.count
        for entry in open.descriptors { Glibc.close(entry.fd) }
        report(.finished(result))
    }
}

/// `llm-cache serve`, built beside the test bundle, as a child process.
struct ServeProcess {
    let process: Process
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    static func start(_ arguments: [String]) async throws -> ServeProcess {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("llm-cache")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "no llm-cache at \(executable.path): build it with swift build")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LLMCACHE_") }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "listening on http://HOST:PORT", once it accepts connections.
        let line = try await offPool {
            var text = ""
            while !text.contains("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }
        guard let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.terminate()
            throw SocketError(message: "llm-cache serve did not say where it listens: '\(line)'")
        }
        return ServeProcess(process: process, port: port)
    }

    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
#endif
