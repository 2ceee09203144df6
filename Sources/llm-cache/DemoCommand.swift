import ArgumentParser
import Foundation
import LLMCache
import Synchronization

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a workload of repeated calls through the cache and print hits, misses and time saved.",
        discussion: """
            The 'model' is an in-process function that waits --latency-ms per call, like \
            a remote LLM. Requests repeat with a skew, as real traffic does, and arrive \
            --concurrency at a time, so identical requests in flight together share one \
            model call.
            """
    )

    @Option(help: "Requests to send.")
    var requests = 400

    @Option(help: "Distinct questions they are drawn from.")
    var distinct = 60

    @Option(help: "Simulated model latency per call, in milliseconds.")
    var latencyMs = 150

    @Option(help: "Requests in flight at once.")
    var concurrency = 16

    @Option(help: "The store: memory or sqlite:PATH.", transform: StoreLocation.init(parsing:))
    var store: StoreLocation = .memory

    func validate() throws {
        guard requests > 0, distinct > 0, concurrency > 0, latencyMs >= 0 else {
            throw ValidationError("--requests, --distinct and --concurrency must be positive and --latency-ms not negative")
        }
    }

    func run() async throws {
        let backend: any CacheStore = switch store {
        case .memory: MemoryStore(configuration: .init(maximumBytes: 64 << 20))
        case .sqlite: try store.openPersistent()
        }
        let cache = LLMCache(store: backend, configuration: .init(namespace: "demo", defaultTTL: .seconds(3600)))
        let model = SimulatedModel(latency: .milliseconds(latencyMs))
        print("llm-cache demo: \(requests) requests over \(distinct) distinct questions, \(concurrency) at a time,")
        print("                a model that takes \(latencyMs) ms per call, store \(store)")
        print("")

        // Skewed repeats: question i is asked with probability proportional to 1/(i+1).
        var generator = SplitMix64(state: 42)
        let weights = (0..<distinct).map { 1.0 / Double($0 + 1) }
        let total = weights.reduce(0, +)
        let picks: [Int] = (0..<requests).map { _ in
            var r = Double(generator.next() % 1_000_000) / 1_000_000 * total
            for (i, w) in weights.enumerated() { r -= w; if r <= 0 { return i } }
            return distinct - 1
        }

        let started = ContinuousClock.now
        let sources = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                let question = picks[next]
                next += 1
                group.addTask {
                    let body = Self.request(question: question)
                    let response = try await cache.response(for: try LLMRequest(json: body), options: .init(tags: ["topic-\(question % 5)"])) {
                        try await model.answer(question: question)
                    }
                    let label = response.shared ? "MISS (waited on another call)" : response.source.description
                    sources.count(label)
                }
            }
            for _ in 0..<min(concurrency, requests) { launch() }
            while try await group.next() != nil {
                if next < requests { launch() }
            }
        }
        let elapsed = ContinuousClock.now - started
        let stats = await cache.statistics()
        let calls = model.calls
        let uncached = Double(requests) * Double(latencyMs) / 1000 / Double(concurrency)

        print("requests          \(requests)")
        for (label, count) in sources.counts.sorted(by: { $0.key < $1.key }) {
            print("  \(label.padding(toLength: 30, withPad: " ", startingAt: 0)) \(count)")
        }
        print("model calls       \(calls)   (without the cache: \(requests))")
        print(String(format: "hit ratio         %.1f%%", stats.hitRatio * 100))
        print(String(format: "time saved        %.1f s of model time", stats.timeSaved.seconds))
        print(String(format: "wall time         %.2f s   (without the cache: about %.2f s)", elapsed.seconds, uncached))
        if let s = stats.store {
            print("store             \(s.entries) entries, \(s.storedBytes) bytes charged (answers: \(s.rawBytes) bytes uncompressed)")
        }

        // Invalidation: drop one topic and ask its questions again.
        let removed = try await cache.invalidate(.tag("topic-0"))
        let before = model.calls
        for question in stride(from: 0, to: distinct, by: 5) {
            _ = try await cache.response(for: try LLMRequest(json: Self.request(question: question)), options: .init(tags: ["topic-0"])) {
                try await model.answer(question: question)
            }
        }
        print("")
        print("invalidated tag topic-0: \(removed) entries removed; asking them again took \(model.calls - before) model calls")

        // Memoization of any async function with Codable arguments and result.
        let slowSquare = cache.memoize("demo.square", ttl: .seconds(60)) { (n: Int) async throws -> Int in
            try await Task.sleep(for: .milliseconds(latencyMs))
            return n * n
        }
        let memoStart = ContinuousClock.now
        var sum = 0
        for n in [3, 4, 3, 4, 3, 4, 5, 5] { sum += try await slowSquare(n) }
        print(String(format: "memoized square: 8 calls, 3 computed, sum %d, %.2f s", sum, (ContinuousClock.now - memoStart).seconds))
    }

    static func request(question: Int) -> [UInt8] {
        Array(#"{"model":"demo-model","temperature":0,"messages":[{"role":"system","content":"You answer briefly."},{"role":"user","content":"Demo question number \#(question): what is \#(question) squared?"}]}"#.utf8)
    }
}

/// Stands in for a remote model: waits, then answers with a chat completion.
final class SimulatedModel: Sendable {
    let latency: Duration
    private let callCount = Atomic<Int>(0)

    init(latency: Duration) { self.latency = latency }

    var calls: Int { callCount.load(ordering: .relaxed) }

    func answer(question: Int) async throws -> Data {
        callCount.add(1, ordering: .relaxed)
        try await Task.sleep(for: latency)
        let text = "\(question) squared is \(question * question)."
        return Data(#"{"id":"chatcmpl-demo","object":"chat.completion","model":"demo-model","choices":[{"index":0,"message":{"role":"assistant","content":"\#(text)"},"finish_reason":"stop"}]}"#.utf8)
    }
}

/// Counts of how each request was answered, shared by the request tasks.
final class Tally: Sendable {
    private let state = Mutex<[String: Int]>([:])
    func count(_ label: String) { state.withLock { $0[label, default: 0] += 1 } }
    var counts: [String: Int] { state.withLock { $0 } }
}
