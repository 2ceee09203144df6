import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheFakeUpstream
@testable import LLMCacheServer
import Logging
import Synchronization
import Testing

/// The proxy's start-up over a store too large to index before listening: it
/// answers at once, by exact match, while the semantic index is filled.
@Suite("Proxy start-up")
struct ProxyStartupTests {
    static let namespace = "startup"
    static let question = "What is the capital city of France?"
    static let paraphrase = "what's the capital of France?"
    static let newQuestion = "How tall is Mount Everest?"
    static let newParaphrase = "how high is Mount Everest?"

    /// An embedder that knows which texts mean the same: each of the four
    /// texts above is near its partner, every other text far from all.
    static func tier() -> SemanticCache {
        let dimension = 32
        @Sendable func basis(_ axis: Int, _ lean: Int? = nil) -> [Float] {
            var vector = [Float](repeating: 0, count: dimension)
            vector[axis] = 1
            if let lean { vector[lean] = 0.1 }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return vector.map { $0 / norm }
        }
        let known: [String: [Float]] = [
            question: basis(0), paraphrase: basis(0, 1),
            newQuestion: basis(2), newParaphrase: basis(2, 3),
        ]
        // The text verifiers judge words, which these tests do not care for.
        return SemanticCache(embeddingModel: "startup-test", dimension: dimension, configuration: .init(verifiers: [])) { text in
            known[text] ?? basis(4 + Int(UInt(bitPattern: text.hashValue) % UInt(dimension - 4)))
        }
    }

    /// A store whose scan stops after `pauseAfter` entries until the test lets
    /// it go on: the test decides when the rebuild ends, not the machine's speed.
    /// It counts ``SemanticReadiness/rebuildBeforeListeningLimit`` entries more
    /// than it holds, so the proxy takes it for a store too large to index
    /// before listening (it decides by the count) without the test filling one.
    final class GatedStore: CacheStore {
        let inner = MemoryStore()
        let pauseAfter: Int
        let gate = Gate()
        /// Yields once the scan has stopped; by then the rebuild has taken
        /// every entry before the pause.
        let paused: AsyncStream<Void>
        private let pausedContinuation: AsyncStream<Void>.Continuation

        init(pauseAfter: Int) {
            self.pauseAfter = pauseAfter
            (paused, pausedContinuation) = AsyncStream.makeStream()
        }

        var events: CacheEventBus { inner.events }
        var isLocal: Bool { true }
        func get(_ key: CacheKey) async throws -> CacheEntry? { try await inner.get(key) }
        func set(_ entry: CacheEntry) async throws { try await inner.set(entry) }
        func delete(_ key: CacheKey) async throws -> Bool { try await inner.delete(key) }
        func invalidate(_ selector: InvalidationSelector) async throws -> Int { try await inner.invalidate(selector) }
        func statistics() async throws -> StoreStatistics {
            var statistics = try await inner.statistics()
            statistics.entries += SemanticReadiness.rebuildBeforeListeningLimit
            return statistics
        }

        /// The entries held when the scan began, so that an answer stored
        /// during the rebuild can be indexed only by the request that stored it.
        func entries() -> AsyncThrowingStream<CacheEntry, any Error> {
            let scan = Scan()
            return AsyncThrowingStream { [inner, pauseAfter, gate, pausedContinuation] in
                if scan.snapshot.withLock({ $0 == nil }) {
                    var all: [CacheEntry] = []
                    for try await entry in inner.entries() { all.append(entry) }
                    // The answers to the test's questions first, so they are
                    // indexed before the pause: a lookup by meaning during the
                    // rebuild would find them.
                    let (filler, answers) = all.reduce(into: ([CacheEntry](), [CacheEntry]())) { parts, entry in
                        if entry.semantic?.text.hasPrefix("filler") == true { parts.0.append(entry) } else { parts.1.append(entry) }
                    }
                    scan.snapshot.withLock { $0 = answers + filler }
                }
                let (entry, position) = scan.snapshot.withLock { snapshot in
                    defer { scan.position.add(1, ordering: .relaxed) }
                    let position = scan.position.load(ordering: .relaxed)
                    return (position < snapshot!.count ? snapshot![position] : nil, position)
                }
                // Pulled one at a time: asking for this entry means the
                // rebuild is done with the ones before it.
                if position == pauseAfter {
                    pausedContinuation.yield()
                    await gate.wait()
                }
                return entry
            }
        }

        final class Scan: Sendable {
            let snapshot = Mutex<[CacheEntry]?>(nil)
            let position = Atomic<Int>(0)
        }
    }

    /// Opens once, for every waiter.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { continuation in
                let open = state.withLock { s in
                    if !s.open { s.waiters.append(continuation) }
                    return s.open
                }
                if open { continuation.resume() }
            }
        }

        func open() {
            let waiters = state.withLock { s in
                s.open = true
                defer { s.waiters = [] }
                return s.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// A store holding the answer to ``question`` (with its vector) and other
    /// entries with vectors, whose scan pauses halfway.
    static func preloadedStore() async throws -> GatedStore {
        let store = GatedStore(pauseAfter: 30)
        let loader = LLMCache(store: store.inner, semantic: tier(), configuration: .init(namespace: namespace, storeTimeout: nil))
        let answer = #"{"id":"chatcmpl-preloaded","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#
        let request = try LLMRequest(json: Array(Harness.chat(question).utf8))
        #expect(await loader.store(Data(answer.utf8), for: request) == nil)
        let now = SystemCacheClock().now()
        for i in 0..<60 {
            let scope = CacheKey(hex: String(format: "ff%062x", i))!
            let record = SemanticRecord(scope: scope, text: "filler \(i)", embeddingModel: "startup-test", vector: [Float](repeating: 0, count: 31) + [1])
            try await store.inner.set(CacheEntry(key: CacheKey(hex: String(format: "%064x", i))!, value: Data("{}".utf8), namespace: namespace, createdAt: now, semantic: record))
        }
        return store
    }

    /// A proxy over `store`, with the semantic tier on and every credential
    /// in one namespace, so the preloaded answers are the callers' own.
    static func run(
        store: GatedStore,
        semanticIndex: ProxyServer.SemanticIndexLoading = .rebuildFromStore,
        semantic: SemanticCache,
        _ body: (Harness) async throws -> Void
    ) async throws {
        var logger = Logger(label: "proxy-startup-tests")
        logger.logLevel = .critical
        let (upstreamPorts, upstreamPort) = AsyncStream<Int>.makeStream()
        let upstream = FakeUpstream(logger: logger) { upstreamPort.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await upstream.run() }
            var upstreamIterator = upstreamPorts.makeAsyncIterator()
            let port = await upstreamIterator.next()!
            var configuration = ProxyServer.Configuration(port: 0, upstream: .init(baseURL: "http://127.0.0.1:\(port)/v1", anthropicBaseURL: "http://127.0.0.1:\(port)"))
            configuration.semantic.enabled = true
            configuration.tenancy.sharedNamespace = namespace
            let (proxyPorts, proxyPort) = AsyncStream<Int>.makeStream()
            let proxy = ProxyServer(configuration: configuration, store: store, semantic: semantic, semanticIndex: semanticIndex, logger: logger) { proxyPort.yield($0) }
            group.addTask { try await proxy.run() }
            var proxyIterator = proxyPorts.makeAsyncIterator()
            let listening = await proxyIterator.next()!
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let harness = Harness(upstream: upstream, proxy: proxy, base: "http://127.0.0.1:\(listening)", client: client)
            do {
                try await body(harness)
            } catch {
                // Lets a scan stopped at the gate end, so the group can.
                store.gate.open()
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
            store.gate.open()
            try await client.shutdown()
            group.cancelAll()
        }
    }

    @Test("while the index is rebuilt the proxy answers by exact match, reports it in /healthz, and indexes its new answers")
    func answersExactlyWhileRebuilding() async throws {
        let store = try await Self.preloadedStore()
        try await Self.run(store: store, semantic: Self.tier()) { h in
            var paused = store.paused.makeAsyncIterator()
            await paused.next()
            #expect(!h.proxy.semanticReadiness.isReady)

            let health = try await h.send("/healthz", method: .GET, key: nil)
            #expect(health.json?["status"] == .string("ok"))
            #expect(health.json?["semantic_index"] == .string("rebuilding"))
            let progress = try #require(health.json?["progress"]?.numberValue).doubleValue
            #expect(progress > 0 && progress < 1)
            // Still ready: a rebuilding index is said, but exact answers are served.
            let ready = try await h.send("/readyz", method: .GET, key: nil)
            #expect(ready.status == 200)
            #expect(ready.json?["status"] == .string("ready"))
            #expect(ready.json?["checks"]?["semantic_index"]?["status"] == .string("rebuilding"))

            // The preloaded answer is served by its key...
            let exact = try await h.send("/v1/chat/completions", body: Harness.chat(Self.question))
            #expect(exact.cache == "HIT")
            // ...but not by meaning: half an index is no index.
            let paraphrase = try await h.send("/v1/chat/completions", body: Harness.chat(Self.paraphrase), headers: [("Cache-Control", "no-store")])
            #expect(paraphrase.cache == "MISS")
            // An answer computed now is stored with its vector and indexed.
            let miss = try await h.send("/v1/chat/completions", body: Harness.chat(Self.newQuestion))
            #expect(miss.cache == "MISS")
            #expect(h.upstream.snapshot.chat == 2)

            store.gate.open()
            await h.proxy.semanticReadiness.waitUntilReady()

            #expect(try await h.send("/healthz", method: .GET, key: nil).text == #"{"status":"ok"}"#)
            let matched = try await h.send("/v1/chat/completions", body: Harness.chat(Self.paraphrase))
            #expect(matched.cache == "SEMANTIC-HIT")
            #expect(matched.headers.first(name: "X-Cache-Key") == exact.headers.first(name: "X-Cache-Key"))
            let byMeaning = try await h.send("/v1/chat/completions", body: Harness.chat(Self.newParaphrase))
            #expect(byMeaning.cache == "SEMANTIC-HIT")
            #expect(byMeaning.headers.first(name: "X-Cache-Key") == miss.headers.first(name: "X-Cache-Key"))
            #expect(h.upstream.snapshot.chat == 2)
        }
    }

    @Test("with an index filled elsewhere, the proxy answers by exact match until it is ready")
    func externalIndexDoesNotBlock() async throws {
        let store = try await Self.preloadedStore()
        let semantic = Self.tier()
        let loaded = Gate()
        try await Self.run(store: store, semanticIndex: .external(ready: { await loaded.wait() }), semantic: semantic) { h in
            #expect(try await h.send("/healthz", method: .GET, key: nil).text == #"{"status":"ok","semantic_index":"rebuilding"}"#)
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat(Self.question)).cache == "HIT")

            // What a follower does: fill the index, then say it is ready.
            // Until it says so, the proxy does not match by meaning.
            store.gate.open()
            try await semantic.rebuild(from: store)
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat(Self.paraphrase), headers: [("Cache-Control", "no-store")]).cache == "MISS")
            loaded.open()
            await h.proxy.semanticReadiness.waitUntilReady()

            #expect(try await h.send("/healthz", method: .GET, key: nil).text == #"{"status":"ok"}"#)
            #expect(try await h.send("/v1/chat/completions", body: Harness.chat(Self.paraphrase)).cache == "SEMANTIC-HIT")
        }
    }
}
