import ArgumentParser
import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheEmbeddings
import LLMCacheEvaluation
import LLMCacheFakeUpstream
import LLMCacheServer
import Logging
import NIOCore

/// `llm-cache bench proxy`: the caching proxy over HTTP/1.1 on loopback,
/// in front of the stand-in upstream, loaded with wrk.
///
/// - `proxy.hit.rps`, `proxy.hit.p99`: exact hits of one ~1 KiB chat request
///   over keep-alive connections (wrk, 1 thread, 32 connections by default:
///   on 2 cores, more wrk threads or connections only queue requests), in
///   five slices taken in turn with the Responses and Messages hits.
/// - `proxy.responses.hit.*`, `proxy.messages.hit.*` and their
///   `.ratio_to_chat`, and `proxy.<api>.stream_hit.p99_ms`: the Responses and
///   Messages APIs beside chat, and streamed hits (ProxyBench+Surfaces.swift).
/// - `proxy.miss.added_latency`: median time a miss takes through the proxy
///   minus the median of the same kind of request sent to the upstream
///   directly, one request at a time.
/// - `proxy.hit.under_idle_flood_ms`: p99 of hits, one at a time, while
///   10,000 idle and 200 slow-header connections are open (ProxyBench+IdleFlood.swift).
/// - `proxy.hit.vs_gptcache_server`: ours / GPTCache's `gptcache_server`
///   answering exact repeats of one prompt on its `/get` route, same load;
///   only with `--gptcache-server` (see docs/PROXY.md for its set-up).
///
/// - `proxy.semantic_hit.e2e`: median time of a `SEMANTIC-HIT` over HTTP, one
///   request at a time, on a second proxy with the native MiniLM model: the
///   first texts of the labelled paraphrase pairs (`--pairs`) are stored, then
///   each paraphrase is asked once (a text never embedded before, so the time
///   includes embedding, search, verification and fetch).
/// - `proxy.miss.semantic_latency`: median time of a miss through that proxy
///   (embedding included), to compare with `proxy.miss.proxied_latency`.
/// - `proxy.miss.150_words_added_ms`: median time a miss of a distinct
///   150-word question (about 200 tokens) takes through that proxy minus the
///   median of the same requests sent to the upstream directly, interleaved.
///   The scope holds the stored paraphrases, so every miss embeds its prompt
///   before it knows it is a miss.
/// - `proxy.miss.long_prompt_added_ms`: the same for distinct prompts of
///   20 KB, longer than the model reads: matched by exact key only, so what
///   they add is tokenising up to the model's window, not embedding
///   (docs/SEMANTIC.md, "Long texts").
/// - `proxy.miss.concurrent16.p99_ms`, `.p50_ms`, `.rps`: 16 clients at once
///   sending distinct 150-word questions to that proxy: whether embedding
///   misses holds other requests up; `.skipped` the share of them not
///   embedded because the embed queue (`--embed-queue`) was full.
///
/// - `proxy.history.bytes`, `.bytes.day`, `proxy.history.record_ns`,
///   `proxy.history.hit.rps_ratio`: what the dashboard's history holds after
///   an hour and a day of simulated traffic, what recording a request costs,
///   and the hit rate with it over without it in alternating runs
///   (ProxyBench+History.swift).
struct ProxyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Hits per second and p99 over HTTP, and the latency a miss adds (needs wrk)."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "The gptcache_server executable (from a venv with gptcache and openai==0.28.1) for the comparison figure.")
    var gptcacheServer: String?

    @Option(help: "The GPTCache config file (YAML) to start gptcache_server with.")
    var gptcacheConfig: String?

    @Option(help: "wrk connections for the hit figures.")
    var connections = 32

    @Option(help: "wrk threads. They share the machine's cores with the proxy: on 2 cores a second wrk thread takes CPU the proxy needs.")
    var wrkThreads = 1

    @Option(help: "The semantic proxy's --embed-queue: the most texts waiting for the embedder before a miss skips semantic matching; 0 for no limit. Default as llm-cache serve's, 4 per core.")
    var embedQueue = ServeSettings.defaultEmbedQueue

    @Option(help: "Labelled pairs (text_a,text_b,label) whose paraphrases measure semantic hits.")
    var pairs = "../shared/fixtures/semantic/minimal_pairs.csv"

    func run() async throws {
        guard let wrk = Self.which("wrk") else {
            throw ValidationError("wrk is not installed; run scripts/install-test-deps.sh (or apt-get install wrk)")
        }
        var report = BenchReport(benchmark: "proxy")
        // First, while no server or client runs in this process to move the
        // heap figures it reads.
        progress("history: a day of simulated traffic into a new dashboard history")
        measureHistory(into: &report)
        let seconds = options.quick ? 3 : 10
        var logger = Logger(label: "bench.proxy")
        logger.logLevel = .critical
        let (upstreamPorts, upstreamPort) = AsyncStream<Int>.makeStream()
        let (proxyPorts, proxyPort) = AsyncStream<Int>.makeStream()
        let upstream = FakeUpstream(logger: logger) { upstreamPort.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await upstream.run() }
            var upstreamIterator = upstreamPorts.makeAsyncIterator()
            let upstreamURL = "http://127.0.0.1:\(await upstreamIterator.next()!)"
            let proxy = ProxyServer(
                configuration: ProxyServer.Configuration(port: 0, upstream: .init(baseURL: upstreamURL + "/v1", anthropicBaseURL: upstreamURL)),
                store: MemoryStore(),
                logger: logger
            ) { proxyPort.yield($0) }
            group.addTask { try await proxy.run() }
            var proxyIterator = proxyPorts.makeAsyncIterator()
            let proxyURL = "http://127.0.0.1:\(await proxyIterator.next()!)"
            // The same proxy recording nothing in the dashboard's history: what the history costs.
            var withoutHistory = ProxyServer.Configuration(port: 0, upstream: .init(baseURL: upstreamURL + "/v1"))
            withoutHistory.keepsHistory = false
            let withoutHistoryProxy = ProxyServer(configuration: withoutHistory, store: MemoryStore(), logger: logger) { proxyPort.yield($0) }
            group.addTask { try await withoutHistoryProxy.run() }
            let withoutHistoryURL = "http://127.0.0.1:\(await proxyIterator.next()!)"
            let semanticURL: String?
            let tier = try semanticTier()
            if let tier {
                var configuration = ProxyServer.Configuration(port: 0, upstream: .init(baseURL: upstreamURL + "/v1"))
                configuration.semantic.enabled = true
                let semanticProxy = ProxyServer(configuration: configuration, store: MemoryStore(), semantic: tier, logger: logger) { proxyPort.yield($0) }
                group.addTask { try await semanticProxy.run() }
                semanticURL = "http://127.0.0.1:\(await proxyIterator.next()!)"
            } else {
                semanticURL = nil
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                try await measure(into: &report, wrk: wrk, seconds: seconds, client: client, proxyURL: proxyURL, upstreamURL: upstreamURL)
                try await measureHistoryCost(into: &report, wrk: wrk, seconds: seconds, client: client, proxyURL: proxyURL, withoutHistoryURL: withoutHistoryURL)
                try await measureHitUnderIdleFlood(into: &report, client: client, upstreamURL: upstreamURL)
                if let semanticURL, let tier { try await measureSemanticHits(into: &report, client: client, proxyURL: semanticURL, upstreamURL: upstreamURL, tier: tier) }
            } catch {
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
        report.print(json: options.json)
    }

    func measure(into report: inout BenchReport, wrk: String, seconds: Int, client: HTTPClient, proxyURL: String, upstreamURL: String) async throws {
        // In slices taken in turn with the Responses and Messages hits
        // (ProxyBench+Surfaces.swift), so the machine's load drifts over all three alike.
        let hits = try await measureHits(into: &report, wrk: wrk, seconds: seconds, client: client, proxyURL: proxyURL)
        try await measureStreamHits(into: &report, client: client, proxyURL: proxyURL)

        let count = options.quick ? 100 : 500
        progress("misses: \(count) sequential requests, direct and through the proxy")
        var direct: [Double] = []
        var proxied: [Double] = []
        for index in 0..<(count + 20) {
            // Interleaved, so drift in machine load hits both sides alike; the
            // first 20 of each warm connections and code paths and are dropped.
            let unique = String(decoding: sampleChatRequest(variant: 1_000_000 + index), as: UTF8.self)
            let d = try await Self.timed { _ = try await Self.post(client, upstreamURL + "/v1/chat/completions", body: unique) }
            let p = try await Self.timed {
                let answer = try await Self.post(client, proxyURL + "/v1/chat/completions", body: unique)
                guard answer.cache == "MISS" else { throw ValidationError("a unique request was not a miss") }
            }
            if index >= 20 {
                direct.append(d)
                proxied.append(p)
            }
        }
        let directMedian = Self.median(direct)
        let proxiedMedian = Self.median(proxied)
        report.add("proxy.miss.direct_latency", directMedian, "ms")
        report.add("proxy.miss.proxied_latency", proxiedMedian, "ms")
        report.add("proxy.miss.added_latency", proxiedMedian - directMedian, "ms")

        if let gptcacheServer {
            do {
                let theirs = try await measureGPTCache(server: gptcacheServer, wrk: wrk, seconds: seconds, client: client)
                report.add("gptcache_server.hit.rps", theirs.requestsPerSecond, "req/s")
                report.add("gptcache_server.hit.p99", theirs.p99Milliseconds, "ms")
                report.add("proxy.hit.vs_gptcache_server", hits.requestsPerSecond / theirs.requestsPerSecond, "ratio")
            } catch {
                progress("gptcache_server comparison skipped: \(error)")
            }
        }
    }

    /// Starts gptcache_server, stores one answer with `/put`, and loads `/get`
    /// with exact repeats of that prompt.
    func measureGPTCache(server: String, wrk: String, seconds: Int, client: HTTPClient) async throws -> WrkResult {
        let port = 18_000 + Int.random(in: 0..<2000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        var arguments = ["-s", "127.0.0.1", "-p", "\(port)"]
        if let gptcacheConfig { arguments += ["-f", gptcacheConfig] }
        process.arguments = arguments
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        try process.run()
        defer {
            // uvicorn waits for open connections on SIGTERM; SIGINT, then SIGKILL
            // after a grace period, so the benchmark never hangs on it.
            process.interrupt()
            for _ in 0..<50 where process.isRunning { usleep(100_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let prompt = "Which of the two books is better for a reading group of five people?"
        var ready = false
        for _ in 0..<600 where !ready {
            if (try? await Self.post(client, base + "/put", body: #"{"prompt":"\#(prompt)","answer":"Designing Data-Intensive Applications (CAT-1182)."}"#)) != nil {
                ready = true
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        guard ready else { throw ValidationError("gptcache_server did not start on port \(port)") }
        let answer = try await Self.post(client, base + "/get", body: #"{"prompt":"\#(prompt)"}"#)
        guard answer.body.contains("CAT-1182") else { throw ValidationError("gptcache_server /get did not return the stored answer: \(answer.body)") }
        progress("gptcache_server: wrk -t\(wrkThreads) -c\(connections) -d\(seconds)s on \(base)/get")
        return try Self.runWrk(wrk, url: base + "/get", body: #"{"prompt":"\#(prompt)"}"#, headers: [:], threads: wrkThreads, connections: connections, seconds: seconds)
    }

    // MARK: - Helpers

    struct WrkResult {
        var requestsPerSecond: Double
        var p50Milliseconds: Double
        var p99Milliseconds: Double
        /// Requests completed, from wrk's "N requests in ..." line.
        var requests = 0
    }

    static func runWrk(_ wrk: String, url: String, body: String, headers: [String: String], threads: Int, connections: Int, seconds: Int) throws -> WrkResult {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("llm-cache-bench-\(UUID().uuidString).lua")
        var lua = "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        for (name, value) in headers { lua += "wrk.headers[\"\(name)\"] = \"\(value)\"\n" }
        lua += "wrk.body = [==[\(body)]==]\n"
        try lua.write(to: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: script) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        process.arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script.path, url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let rps = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }).flatMap({ Double($0.split(separator: " ").last!) }) else {
            throw ValidationError("could not read wrk's output:\n\(output)")
        }
        if let errors = output.split(separator: "\n").first(where: { $0.contains("Non-2xx") || $0.contains("Socket errors") }) {
            progress("wrk reported: \(errors)")
        }
        func percentile(_ label: String) -> Double {
            for line in output.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count == 2, fields[0] == label { return milliseconds(String(fields[1])) }
            }
            return .nan
        }
        let requests = output.split(separator: "\n").first(where: { $0.contains(" requests in ") }).flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
        return WrkResult(requestsPerSecond: rps, p50Milliseconds: percentile("50%"), p99Milliseconds: percentile("99%"), requests: requests)
    }

    /// wrk prints latencies as `850.00us`, `1.23ms` or `1.01s`.
    static func milliseconds(_ text: String) -> Double {
        for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("m", 60_000.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? .nan) * scale
        }
        return .nan
    }

    /// The semantic tier of the second proxy, or `nil` (with a note) when the
    /// model or the pairs are missing.
    func semanticTier() throws -> SemanticCache? {
        guard FileManager.default.fileExists(atPath: pairs) else {
            progress("proxy.semantic_hit.e2e skipped: no pairs file at \(pairs) (give --pairs)")
            return nil
        }
        let directory: String
        do {
            directory = try ModelLocator().locate()
        } catch {
            progress("proxy.semantic_hit.e2e skipped: \(error)")
            return nil
        }
        // As `llm-cache serve` has it: a thread per core, and its embed queue.
        let embedder = try MiniLMEmbedder(directory: directory)
        return SemanticCache(embedder: EmbeddingCache(embedder), configuration: .init(maximumPendingEmbeddings: embedQueue == 0 ? nil : embedQueue))
    }

    func measureSemanticHits(into report: inout BenchReport, client: HTTPClient, proxyURL: String, upstreamURL: String, tier: SemanticCache) async throws {
        let data = try LabelledPairs(csv: String(contentsOfFile: pairs, encoding: .utf8))
        var duplicates = data.pairs.filter(\.duplicate)
        if options.quick { duplicates = Array(duplicates.prefix(40)) }
        @Sendable func chat(_ text: String) -> String {
            let body: JSONValue = .object(["model": .string("gpt-4o-mini"), "messages": .array([.object(["role": .string("user"), "content": .string(text)])])])
            return String(decoding: body.jsonBytes, as: UTF8.self)
        }
        progress("semantic hits: \(duplicates.count) paraphrase pairs, one request at a time")
        let url = proxyURL + "/v1/chat/completions"
        for text in Set(duplicates.map(\.textA)) { _ = try await Self.post(client, url, body: chat(text)) }
        var latencies: [Double] = []
        var asked = 0
        for text in Set(duplicates.map(\.textB)) where !duplicates.contains(where: { $0.textA == text }) {
            asked += 1
            var outcome: String?
            let milliseconds = try await Self.timed { outcome = try await Self.post(client, url, body: chat(text)).cache }
            if outcome == "SEMANTIC-HIT" { latencies.append(milliseconds) }
        }
        guard !latencies.isEmpty else { throw ValidationError("none of \(asked) paraphrases was a semantic hit") }
        report.add("proxy.semantic_hit.e2e", Self.median(latencies), "ms")
        report.add("proxy.semantic_hit.rate", Double(latencies.count) / Double(asked), "ratio")

        // A miss with semantic matching on also embeds the prompt before it
        // can know it is a miss: what that costs on top of the exact-only miss.
        var misses: [Double] = []
        for index in 0..<(options.quick ? 40 : 200) {
            let unique = String(decoding: sampleChatRequest(variant: 2_000_000 + index), as: UTF8.self)
            var outcome: String?
            let milliseconds = try await Self.timed { outcome = try await Self.post(client, url, body: unique).cache }
            if outcome == "MISS" { misses.append(milliseconds) }
        }
        report.add("proxy.miss.semantic_latency", Self.median(misses), "ms")

        let count = options.quick ? 30 : 150
        progress("misses through the semantic proxy: \(count) distinct 150-word questions, then \(count) distinct 20 KB prompts, each also sent directly")
        let words = try await addedLatency(client: client, proxyURL: proxyURL, upstreamURL: upstreamURL, count: count) { index in
            // A number of its own: the number verifier keeps one question
            // from being served another's answer, however alike their words.
            chat("Ticket \(3_000_000 + index): " + Self.prose(words: 148, seed: 3_000_000 + index) + "?")
        }
        report.add("proxy.miss.150_words_added_ms", words, "ms")
        let skippedBefore = tier.skippedEmbeddings
        let concurrent = try await measureConcurrentMisses(into: &report, proxyURL: proxyURL) { index in
            chat("Ticket \(6_000_000 + index): " + Self.prose(words: 148, seed: 6_000_000 + index) + "?")
        }
        report.add("proxy.miss.concurrent16.skipped", Double(tier.skippedEmbeddings - skippedBefore) / Double(concurrent), "ratio")
        let long = try await addedLatency(client: client, proxyURL: proxyURL, upstreamURL: upstreamURL, count: count) { index in
            chat(Self.prose(bytes: 20_000, seed: 4_000_000 + index))
        }
        report.add("proxy.miss.long_prompt_added_ms", long, "ms")
    }

    /// `proxy.miss.concurrent16.p99_ms`, `.p50_ms`, `.rps`: 16 clients at
    /// once, each sending distinct 150-word questions one after another
    /// (10 each, 3 with `--quick`), every one a miss that is embedded before
    /// it is known to be one. The latencies are of every request; the rate
    /// is all of them over the whole time. The client opens a connection
    /// per caller, so only the proxy queues them.
    /// Returns how many requests were sent.
    @discardableResult
    func measureConcurrentMisses(into report: inout BenchReport, proxyURL: String, body: @escaping @Sendable (Int) -> String) async throws -> Int {
        let callers = 16
        let each = options.quick ? 3 : 10
        progress("misses through the semantic proxy: \(callers) clients at once, \(each) distinct 150-word questions each")
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: callers * 2)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let url = proxyURL + "/v1/chat/completions"
        let start = ContinuousClock.now
        let latencies: [Double]
        do {
            latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        var times: [Double] = []
                        for turn in 0..<each {
                            let unique = body(caller * each + turn)
                            times.append(try await Self.timed {
                                let answer = try await Self.post(client, url, body: unique)
                                guard answer.cache == "MISS" else { throw ValidationError("a distinct request was not a miss (X-Cache: \(answer.cache ?? "none"))") }
                            })
                        }
                        return times
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        let elapsed = (ContinuousClock.now - start).seconds
        try await client.shutdown()
        report.add("proxy.miss.concurrent16.p99_ms", Self.percentile(latencies, 0.99), "ms")
        report.add("proxy.miss.concurrent16.p50_ms", Self.median(latencies), "ms")
        report.add("proxy.miss.concurrent16.rps", Double(latencies.count) / elapsed, "req/s")
        return latencies.count
    }

    /// Median time of `count` misses through the proxy minus the median of
    /// the same bodies sent to the upstream directly, one request at a time
    /// and interleaved, so drift in the machine's load hits both sides alike;
    /// 10 more of each warm connections and code paths first.
    func addedLatency(client: HTTPClient, proxyURL: String, upstreamURL: String, count: Int, body: (Int) -> String) async throws -> Double {
        var direct: [Double] = []
        var proxied: [Double] = []
        for index in 0..<(count + 10) {
            let unique = body(index)
            let d = try await Self.timed { _ = try await Self.post(client, upstreamURL + "/v1/chat/completions", body: unique) }
            let p = try await Self.timed {
                let answer = try await Self.post(client, proxyURL + "/v1/chat/completions", body: unique)
                guard answer.cache == "MISS" else { throw ValidationError("a distinct request was not a miss (X-Cache: \(answer.cache ?? "none"))") }
            }
            if index >= 10 {
                direct.append(d)
                proxied.append(p)
            }
        }
        return Self.median(proxied) - Self.median(direct)
    }

    /// Everyday English words, from which ``prose(words:seed:)`` draws.
    static let vocabulary = """
        the a of to and in is it that for on with as was at by be this are from or have an they which one you were all we \
        her she there can said each use do how their if will up other about out many then them these so some would make \
        like him into time has look two more write go see number way could people my than first water been call who oil \
        its now find long down day did get come made may part over new sound take only little work know place year live \
        back give most very after thing our just name good sentence man think say great where help through much before \
        line right too mean old any same tell boy follow came want show also around form three small set put end does \
        another well large must big even such because turn here why ask went men read need land different home us move \
        try kind hand picture again change off play spell air away animal house point page letter mother answer found
        """.split(whereSeparator: \.isWhitespace).map(String.init)

    /// `words` words of the vocabulary in an order drawn from `seed`: a
    /// text no other seed gives.
    static func prose(words: Int, seed: Int) -> String {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        var text: [String] = []
        text.reserveCapacity(words)
        for _ in 0..<words {
            // xorshift64*
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            text.append(vocabulary[Int((state &* 0x2545_F491_4F6C_DD1D) >> 33) % vocabulary.count])
        }
        return text.joined(separator: " ")
    }

    /// About `bytes` bytes of ``prose(words:seed:)``.
    static func prose(bytes: Int, seed: Int) -> String {
        var text = prose(words: bytes / 4, seed: seed)
        if text.utf8.count > bytes { text = String(text.utf8.prefix(bytes))! }
        return text
    }

    static func post(_ client: HTTPClient, _ url: String, body: String, headers: [String: String] = openAIHeaders) async throws -> (cache: String?, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        guard response.status.code < 300 else { throw ValidationError("\(url) answered \(response.status.code)") }
        return (response.headers.first(name: "X-Cache"), String(buffer: bytes))
    }

    static func timed(_ body: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await body()
        return (ContinuousClock.now - start).seconds * 1000
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func which(_ tool: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
