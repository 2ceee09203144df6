import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheOpenAI
import LLMCacheFakeUpstream
import LLMCacheServer
import LLMCacheSQLite
import Logging
import NIOCore
import NIOHTTP1

/// A real proxy over a real SQLite file (or the store a test gives) in front of the stand-in upstream,
/// both on loopback ports picked by the system.
struct Harness {
    let upstream: FakeUpstream
    let proxy: ProxyServer
    let base: String
    let client: HTTPClient

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue? { try? JSONValue(parsing: body) }
        var cache: String? { headers.first(name: "X-Cache") }
    }

    static let adminToken = "test-admin-token-0123456789"

    static func run(
        configure: (inout ProxyServer.Configuration) -> Void = { _ in },
        cache cacheConfiguration: LLMCache.Configuration = LLMCache.Configuration(),
        upstreamDelay: Duration = .zero,
        semantic: SemanticCache? = nil,
        directory existing: URL? = nil,
        store: (any CacheStore)? = nil,
        logger given: Logger? = nil,
        _ body: (Harness) async throws -> Void
    ) async throws {
        // A directory the caller gives outlives this run, so a test can restart the proxy over the same file.
        let directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("llm-cache-proxy-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if existing == nil { try? FileManager.default.removeItem(at: directory) } }
        let (upstreamPorts, upstreamPort) = AsyncStream<Int>.makeStream()
        // Quiet: stopping the servers at the end of each test logs cancellations.
        var quiet = Logger(label: "proxy-tests")
        quiet.logLevel = .critical
        let logger = given ?? quiet
        let upstream = FakeUpstream(delay: upstreamDelay, logger: quiet) { upstreamPort.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await upstream.run() }
            var upstreamIterator = upstreamPorts.makeAsyncIterator()
            let port = await upstreamIterator.next()!
            var configuration = ProxyServer.Configuration(port: 0, upstream: .init(baseURL: "http://127.0.0.1:\(port)/v1", anthropicBaseURL: "http://127.0.0.1:\(port)"))
            configuration.admin.token = adminToken
            configure(&configuration)
            let (proxyPorts, proxyPort) = AsyncStream<Int>.makeStream()
            let proxy = ProxyServer(configuration: configuration, store: try store ?? SQLiteStore(path: directory.appendingPathComponent("cache.sqlite").path), cacheConfiguration: cacheConfiguration, semantic: semantic, logger: logger) { proxyPort.yield($0) }
            group.addTask { try await proxy.run() }
            var proxyIterator = proxyPorts.makeAsyncIterator()
            let listening = await proxyIterator.next()!
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let harness = Harness(upstream: upstream, proxy: proxy, base: "http://127.0.0.1:\(listening)", client: client)
            do {
                try await body(harness)
            } catch {
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
    }

    func request(_ path: String, method: HTTPMethod = .POST, body: String? = nil, key: String? = "sk-test-one", headers: [(String, String)] = []) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        return request
    }

    func send(_ path: String, method: HTTPMethod = .POST, body: String? = nil, key: String? = "sk-test-one", headers: [(String, String)] = []) async throws -> Answer {
        let response = try await client.execute(request(path, method: method, body: body, key: key, headers: headers), timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    func admin(_ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = Harness.adminToken) async throws -> Answer {
        try await send(path, method: method, body: body, key: token)
    }

    static func chat(_ text: String, stream: Bool = false, extra: String = "") -> String {
        #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\#(text)"}]\#(stream ? #","stream":true"# : "")\#(extra)}"#
    }

    /// The data of each event of an SSE body.
    static func events(_ body: [UInt8]) -> [[UInt8]] {
        var parser = SSEParser()
        return parser.feed(body)
    }
}
