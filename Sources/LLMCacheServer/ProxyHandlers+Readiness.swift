import Hummingbird
import LLMCache
import Synchronization

extension ProxyHandlers {
    /// The state `GET /readyz` and `/admin/stats` report: the store checked at
    /// most once a second (``StoreCheckThrottle``), the upstreams as their
    /// latest calls found them (never called for it), the semantic index's rebuild.
    func readiness() async -> Readiness {
        let store = await server.storeCheck.health(of: cache)
        let semanticIndex: Readiness.SemanticIndex
        if cache.semantic == nil {
            semanticIndex = .off
        } else if server.semanticReadiness.isReady {
            semanticIndex = .ready
        } else {
            semanticIndex = .rebuilding(progress: server.semanticReadiness.progress)
        }
        return Readiness(
            store: store,
            storeKind: "\(type(of: cache.store))",
            upstreams: [
                Readiness.UpstreamCheck(name: "upstream", url: upstream.baseURL, option: "--upstream", status: upstream.health.status),
                Readiness.UpstreamCheck(name: "anthropic_upstream", url: anthropic.baseURL, option: "--anthropic-upstream", status: anthropic.health.status),
            ],
            semanticIndex: semanticIndex
        )
    }

    /// `GET /readyz`: 200 when ready, 503 when the store or an upstream is failing.
    func readyz() async -> Response {
        let readiness = await readiness()
        return Self.json(readiness.json, status: readiness.isReady ? .ok : .serviceUnavailable)
    }
}

/// Asks the store (``LLMCache/checkStore()``) for `GET /readyz` at most once
/// per ``interval``; in between, the health the last operations left
/// (``LLMCache/storeHealth``). A probe every second from several load
/// balancers then costs the store one lookup a second. Thread-safe.
final class StoreCheckThrottle: Sendable {
    /// The least time between two store checks: 1 s.
    static let interval = Duration.seconds(1)
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    func health(of cache: LLMCache) async -> StoreHealth {
        let now = ContinuousClock.now
        let due = last.withLock { last in
            if let previous = last, now - previous < Self.interval { return false }
            last = now
            return true
        }
        return due ? await cache.checkStore() : cache.storeHealth
    }
}
