import LLMCache

/// The answer of `GET /readyz` (and the `readiness` of `/admin/stats`): each
/// dependency's state, and whether the proxy is ready.
///
/// Ready (200, `"status":"ready"`) unless the store or an upstream is failing
/// (503, `"status":"degraded"`, with `failing` naming them and each failing
/// check saying what to look at). A semantic index still being rebuilt is
/// reported (`"rebuilding"`, with its progress) but keeps the proxy ready:
/// it answers every request correctly meanwhile, by exact match, and a load
/// balancer that took a whole fleet out of rotation while it rebuilt after a
/// restart would turn a slower cache into an outage. See docs/PROXY.md, "Health
/// and readiness".
///
/// A value built from snapshots, so the decision is a pure function of them.
struct Readiness: Sendable {
    enum SemanticIndex: Equatable, Sendable {
        /// No semantic tier: exact matches only.
        case off
        case ready
        /// Being rebuilt; `progress` is the part of the store read, when known.
        case rebuilding(progress: Double?)
    }

    struct UpstreamCheck: Sendable {
        /// The check's name in the JSON: `upstream`, `anthropic_upstream`.
        var name: String
        var url: String
        /// The command-line option that sets `url`, for the hint.
        var option: String
        var status: UpstreamReachability.Status
    }

    var store: StoreHealth
    /// The store's type, for the hint: `TieredStore`, `SQLiteStore`...
    var storeKind: String
    var upstreams: [UpstreamCheck]
    var semanticIndex: SemanticIndex

    /// The checks that make the proxy not ready, in a fixed order.
    var failing: [String] {
        var names: [String] = []
        if !store.isAvailable { names.append("store") }
        for upstream in upstreams {
            if case .unreachable = upstream.status { names.append(upstream.name) }
        }
        return names
    }

    var isReady: Bool { failing.isEmpty }

    var json: JSONValue {
        var checks: [String: JSONValue] = ["store": storeCheck, "semantic_index": semanticCheck]
        for upstream in upstreams { checks[upstream.name] = check(upstream) }
        var object: [String: JSONValue] = ["status": .string(isReady ? "ready" : "degraded"), "checks": .object(checks)]
        if !isReady { object["failing"] = .array(failing.map(JSONValue.string)) }
        return .object(object)
    }

    private var storeCheck: JSONValue {
        guard !store.isAvailable else { return .object(["status": .string("ok")]) }
        var object: [String: JSONValue] = [
            "status": .string("down"),
            "failed_operations": .number(JSONNumber(store.failedOperations)),
            "check": .string("the cache store (\(storeKind)) is failing: requests are answered by the upstream, uncached, until it is back; check that its backend is up and reachable from the proxy (the Redis server given with --redis, or the disk of the --store file)"),
        ]
        if let seconds = store.unavailableFor.flatMap({ JSONNumber(($0.seconds * 10).rounded() / 10) }) { object["unavailable_seconds"] = .number(seconds) }
        if let error = store.lastError { object["error"] = .string(error) }
        return .object(object)
    }

    private func check(_ upstream: UpstreamCheck) -> JSONValue {
        switch upstream.status {
        case .reachable:
            return .object(["status": .string("ok"), "url": .string(upstream.url)])
        case .unreachable(let age, let message):
            var object: [String: JSONValue] = [
                "status": .string("unreachable"),
                "url": .string(upstream.url),
                "error": .string(message),
                "check": .string("the latest call to \(upstream.url) could not connect; check \(upstream.option) and that the proxy's host can reach it (DNS, firewall, proxy settings)"),
            ]
            if let seconds = JSONNumber((age.seconds * 10).rounded() / 10) { object["seconds_ago"] = .number(seconds) }
            return .object(object)
        }
    }

    private var semanticCheck: JSONValue {
        switch semanticIndex {
        case .off:
            return .object(["status": .string("off")])
        case .ready:
            return .object(["status": .string("ready")])
        case .rebuilding(let progress):
            var object: [String: JSONValue] = [
                "status": .string("rebuilding"),
                "detail": .string("requests are answered by exact match until the index is rebuilt; this does not make the proxy unready"),
            ]
            if let progress, let number = JSONNumber(progress) { object["progress"] = .number(number) }
            return .object(object)
        }
    }
}
