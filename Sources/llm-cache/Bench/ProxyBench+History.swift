import AsyncHTTPClient
import CMallocInfo
import LLMCache
import LLMCacheServer

/// What the dashboard's history costs, in the same `bench proxy` run:
///
/// - `proxy.history.bytes`: heap bytes in use (glibc's `mallinfo2`) that a
///   new history (the 10-second and 5-minute rings, the breakdown by route
///   and model, the last semantic hits) holds after an hour of simulated
///   traffic; `proxy.history.bytes.day` the same after a day (target: the
///   same as after an hour). Every simulated second records a request of
///   each route and outcome, the models drawn in turn from 60 names (10
///   more than the breakdown keeps apart), each request's strings made
///   afresh as a parsed request's are; the admin API's reads run every
///   simulated minute. `proxy.history.ring_bytes` is what the history
///   counts its rings' arrays at.
/// - `proxy.history.record_ns`: the time one request's recording takes, a
///   chat hit of the model last seen (most traffic), on one thread.
/// - `proxy.history.hit.rps_ratio`: what the history costs the hits under
///   load: `proxy.hit.rps`'s chat hits on the benchmark's proxy over the same
///   hits on a second proxy that records nothing in its history, in pairs of
///   slices taken in turn (the order swapped each pair, so neither side
///   always runs first); the median of the pairs' ratios (target ≥ 0.97).
///   `.with`, `.without`: the mean rates of each side; `proxy.history.hit.cpu_ratio`
///   the proxy's CPU time per hit without the history over with it (≤ 1
///   when recording costs CPU), steadier than the rates on a shared machine.
///   Both sides build each request's facts for the history (its model
///   name, the tokens saved); the second only does not record them.
extension ProxyBench {
    /// The pairs of ``measureHistoryCost(into:wrk:seconds:client:proxyURL:withoutHistoryURL:)``:
    /// three at least, so one slice slowed by another process does not decide.
    var historyPairs: Int { max(3, hitRounds) }

    func measureHistoryCost(into report: inout BenchReport, wrk: String, seconds: Int, client: HTTPClient, proxyURL: String, withoutHistoryURL: String) async throws {
        let chat = Self.surfaces[0]
        for url in [proxyURL, withoutHistoryURL] { try await Self.warm(client, url + chat.path, body: chat.hitBody, headers: chat.headers) }
        let slice = max(1, seconds / hitRounds)
        progress("history's cost: chat hits with and without it, wrk -t\(wrkThreads) -c\(connections) -d\(slice)s, \(historyPairs) pairs in turn")
        var rates: [[Double]] = [[], []]
        var cpu = [0.0, 0.0]
        var requests = [0, 0]
        var ratios: [Double] = []
        for pair in 0..<historyPairs {
            var rate = [0.0, 0.0]
            for turn in 0..<2 {
                let side = (pair + turn) % 2
                let before = Self.processCPUSeconds()
                let result = try Self.runWrk(wrk, url: [proxyURL, withoutHistoryURL][side] + chat.path, body: chat.hitBody, headers: chat.headers, threads: wrkThreads, connections: connections, seconds: slice)
                cpu[side] += Self.processCPUSeconds() - before
                requests[side] += result.requests
                rate[side] = result.requestsPerSecond
                rates[side].append(result.requestsPerSecond)
            }
            ratios.append(rate[0] / rate[1])
        }
        let mean = { (values: [Double]) in values.reduce(0, +) / Double(values.count) }
        report.add("proxy.history.hit.rps.with", mean(rates[0]), "req/s")
        report.add("proxy.history.hit.rps.without", mean(rates[1]), "req/s")
        report.add("proxy.history.hit.rps_ratio", Self.median(ratios), "ratio")
        let cpuPerHit = (0..<2).map { cpu[$0] / Double(max(1, requests[$0])) }
        report.add("proxy.history.hit.cpu_ratio", cpuPerHit[1] / cpuPerHit[0], "ratio")
        progress("history's cost, pairs' ratios (with/without): " + ratios.map { String(format: "%.3f", $0) }.joined(separator: " "))
    }

    func measureHistory(into report: inout BenchReport) {
        // A first history, thrown away, so that what the runtime allocates
        // once (type metadata, the first strings) is not counted.
        let warmClock = ManualCacheClock()
        Self.simulateHistory(ProxyHistoryProbe(clock: warmClock), clock: warmClock, from: 0, seconds: 120)

        let clock = ManualCacheClock()
        let heapBefore = llmcache_heap_bytes_in_use()
        let probe = ProxyHistoryProbe(clock: clock)
        Self.simulateHistory(probe, clock: clock, from: 0, seconds: 3600)
        let hour = llmcache_heap_bytes_in_use() - heapBefore
        Self.simulateHistory(probe, clock: clock, from: 3600, seconds: 86_400 - 3600)
        let day = llmcache_heap_bytes_in_use() - heapBefore
        report.add("proxy.history.bytes", Double(hour), "bytes")
        report.add("proxy.history.bytes.day", Double(day), "bytes")
        report.add("proxy.history.ring_bytes", Double(probe.ringBytes), "bytes")

        let model = "gpt-4o-mini-2024-07-18"
        let key = MemoryBench.key(1)
        let count = options.quick ? 200_000 : 2_000_000
        var batches: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            for _ in 0..<count {
                probe.record(route: 0, outcome: 0, elapsed: .microseconds(120), model: model, savedTokens: 300, savedCost: 0.0001, key: key, text: "")
            }
            batches.append((ContinuousClock.now - start).seconds * 1e9 / Double(count))
        }
        report.add("proxy.history.record_ns", Self.median(batches), "ns")
    }

    /// `seconds` seconds of traffic into `probe`, second `from` onwards:
    /// every second a request of each route and outcome, then `clock` a
    /// second on; every minute the admin API's reads.
    static func simulateHistory(_ probe: ProxyHistoryProbe, clock: ManualCacheClock, from: Int, seconds: Int) {
        let kinds = ProxyHistoryProbe.routes * ProxyHistoryProbe.outcomes
        for second in from..<(from + seconds) {
            for kind in 0..<kinds {
                let n = second * kinds + kind
                let outcome = kind % ProxyHistoryProbe.outcomes
                // Made here, as a request's are when its body is parsed: a
                // kept name or semantic hit keeps its own copy.
                let model = "gpt-4o-mini-2024-07-18-variant-\(n % 60)"
                let text = outcome == ProxyHistoryProbe.semanticHit
                    ? "Which of the two books is better for a reading group of five people who know some Python, question \(n)? " + String(repeating: "Please keep it short. ", count: 6)
                    : ""
                // From 16 µs to about 17 minutes, over every bin in turn.
                let elapsed = Duration.microseconds(Int64(16) << Int64(n % 26)) + .microseconds(n % 97)
                probe.record(route: kind / ProxyHistoryProbe.outcomes, outcome: outcome, elapsed: elapsed, model: model, savedTokens: n % 500, savedCost: 0.0001, key: MemoryBench.key(UInt64(n)), text: text)
            }
            clock.advance(by: .seconds(1))
            if second % 60 == 59 { _ = probe.read() }
        }
    }
}
