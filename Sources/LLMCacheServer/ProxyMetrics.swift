import LLMCache
import Prometheus
import Synchronization

/// The proxy's own Prometheus metrics, beside the cache's `llm_cache_*`
/// metrics in the same registry. Every collector is made once at start-up,
/// so recording on the hit path takes no registry lookup. Thread-safe.
struct ProxyMetrics: Sendable {
    enum Route: Int, CaseIterable, Sendable {
        case chat, completions, embeddings, responses, messages

        var label: String {
            switch self {
            case .chat: return "chat_completions"
            case .completions: return "completions"
            case .embeddings: return "embeddings"
            case .responses: return "responses"
            case .messages: return "messages"
            }
        }
    }

    enum Outcome: Int, CaseIterable, Sendable {
        case hit, semanticHit, miss, bypass, upstreamError, rejected

        var label: String {
            switch self {
            case .hit: return "hit"
            case .semanticHit: return "semantic_hit"
            case .miss: return "miss"
            case .bypass: return "bypass"
            case .upstreamError: return "upstream_error"
            case .rejected: return "rejected"
            }
        }
    }

    /// One collector per route and outcome, at ``slot(_:_:)``: every request
    /// records into two of them, so finding them is an index, not a string
    /// built and hashed.
    private let requests: [Counter]
    private let durations: [DurationHistogram]
    let upstreamDuration: DurationHistogram
    let upstreamErrors: Counter
    /// What hits saved, one set of counters per route (``Route/rawValue``).
    private let saved: [SavedCounters]
    let streamsInterrupted: Counter
    /// The saved totals again, readable (Prometheus counters cannot be read back) for `/admin/stats`.
    let savings = Savings()
    /// The figures over time, by route and model, and the last semantic hits, for the dashboard.
    let history: ProxyHistory
    /// Whether ``record(_:_:since:_:)`` records in the ``history`` too.
    private let keepsHistory: Bool

    private struct SavedCounters: Sendable {
        var prompt: Counter
        var cachedPrompt: Counter
        var completion: Counter
        var cost: Counter
    }

    /// What the hits of one route saved.
    struct Saved: Sendable, Equatable {
        var prompt = 0
        var cachedPrompt = 0
        var completion = 0
        var cost = 0.0
    }

    final class Savings: Sendable {
        private let state = Mutex([Saved](repeating: Saved(), count: Route.allCases.count))

        func add(_ route: Route, usage: Usage, cost: Double) {
            state.withLock {
                $0[route.rawValue].prompt += usage.prompt
                $0[route.rawValue].cachedPrompt += usage.cachedPrompt
                $0[route.rawValue].completion += usage.completion
                $0[route.rawValue].cost += cost
            }
        }

        /// The savings of each route, by ``Route/rawValue``.
        var byRoute: [Saved] { state.withLock { $0 } }

        var totals: Saved {
            byRoute.reduce(into: Saved()) { total, route in
                total.prompt += route.prompt
                total.cachedPrompt += route.cachedPrompt
                total.completion += route.completion
                total.cost += route.cost
            }
        }
    }

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    /// `historyClock` dates the ``history``; with `keepsHistory` false it stays empty.
    init(registry: PrometheusCollectorRegistry, historyClock: any CacheClock = SystemCacheClock(), keepsHistory: Bool = true) {
        history = ProxyHistory(clock: historyClock)
        self.keepsHistory = keepsHistory
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "llm_cache", subsystem: "proxy", metricName: metric, unitName: unit, helpText: help)
        }
        var requests: [Counter] = []
        var durations: [DurationHistogram] = []
        let requestName = name("requests", "total", "Requests to the cached routes, by route and cache outcome (hit, semantic_hit, miss, bypass, upstream_error, rejected).")
        let durationName = name("request_duration", "seconds", "Time from request to the end of the response, by route and cache outcome.")
        for route in Route.allCases {
            for outcome in Outcome.allCases {
                let labels = [("route", route.label), ("cache", outcome.label)]
                assert(requests.count == Self.slot(route, outcome))
                requests.append(registry.makeCounter(descriptor: requestName, labels: labels))
                durations.append(registry.makeDurationHistogram(descriptor: durationName, labels: labels, buckets: Self.latencyBuckets))
            }
        }
        self.requests = requests
        self.durations = durations
        upstreamDuration = registry.makeDurationHistogram(descriptor: name("upstream_duration", "seconds", "Time the upstream took to answer a miss (to its last byte)."), labels: [], buckets: Self.latencyBuckets)
        upstreamErrors = registry.makeCounter(descriptor: name("upstream_errors", "total", "Upstream calls that failed: non-2xx answers, broken connections, time-outs, interrupted streams."))
        let promptName = name("prompt_tokens_saved", "total", "Prompt (input) tokens of the answers served from the cache, by route; provider-cached ones included.")
        let cachedName = name("cached_prompt_tokens_saved", "total", "Of the prompt tokens saved, those the provider had served from its own prompt cache (cached_tokens, cache_read_input_tokens), by route.")
        let completionName = name("completion_tokens_saved", "total", "Completion (output) tokens of the answers served from the cache, by route.")
        let costName = name("cost_saved", "usd_total", "Estimated US dollars the cache hits saved, from the configured price table, by route.")
        saved = Route.allCases.map { route in
            let labels = [("route", route.label)]
            return SavedCounters(
                prompt: registry.makeCounter(descriptor: promptName, labels: labels),
                cachedPrompt: registry.makeCounter(descriptor: cachedName, labels: labels),
                completion: registry.makeCounter(descriptor: completionName, labels: labels),
                cost: registry.makeCounter(descriptor: costName, labels: labels)
            )
        }
        streamsInterrupted = registry.makeCounter(descriptor: name("streams_interrupted", "total", "Streamed misses whose upstream stream did not complete; never cached."))
    }

    /// Records one finished request, in the Prometheus metrics and the ``history``.
    func record(_ route: Route, _ outcome: Outcome, since start: ContinuousClock.Instant, _ facts: ProxyHistory.Facts = ProxyHistory.Facts()) {
        let elapsed = ContinuousClock.now - start
        let slot = Self.slot(route, outcome)
        requests[slot].increment()
        durations[slot].record(elapsed)
        if keepsHistory { history.record(route, outcome, elapsed: elapsed, facts) }
    }

    static func slot(_ route: Route, _ outcome: Outcome) -> Int {
        route.rawValue * Outcome.allCases.count + outcome.rawValue
    }

    /// Records what one hit of `route` saved: the tokens of the stored
    /// answer's usage and their cost.
    func saved(_ route: Route, usage: Usage, cost: Double) {
        let counters = saved[route.rawValue]
        counters.prompt.increment(by: Int64(usage.prompt))
        if usage.cachedPrompt > 0 { counters.cachedPrompt.increment(by: Int64(usage.cachedPrompt)) }
        counters.completion.increment(by: Int64(usage.completion))
        if cost > 0 { counters.cost.increment(by: cost) }
        savings.add(route, usage: usage, cost: cost)
    }
}
