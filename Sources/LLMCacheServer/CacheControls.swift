import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import Logging
import Synchronization

/// What a request asks of the cache, read from its headers:
///
/// - `Cache-Control: no-cache` (skip the lookup and refresh the entry),
///   `no-store` (do not store the answer), `max-age=N` (serve only answers at
///   most N seconds old). Other directives are ignored, as HTTP requires.
/// - `X-Cache-TTL: N`: store the answer for N seconds.
/// - `X-Cache-Tags: a,b`: tags for invalidation.
/// - `X-Cache-Semantic: off | on | threshold=T`: semantic matching for this request.
///
/// Malformed values are errors (answered with 400), never silently ignored:
/// a caller who asked for `max-age=abc` must not get answers of any age.
struct CacheControls: Sendable, Equatable {
    /// Semantic matching for one request.
    enum SemanticMode: Sendable, Equatable {
        /// The server's setting.
        case serverDefault
        /// No semantic matching.
        case off
        /// Semantic matching with the server's threshold, even if the server
        /// does not match by default.
        case on
        /// Semantic matching with this threshold.
        case threshold(Double)
    }

    var lookup = true
    var store = true
    var maxAge: Duration?
    var ttl: Duration?
    var tags: [String] = []
    var semantic: SemanticMode = .serverDefault

    static let ttlHeader = HTTPField.Name("X-Cache-TTL")!
    static let tagsHeader = HTTPField.Name("X-Cache-Tags")!
    static let semanticHeader = HTTPField.Name("X-Cache-Semantic")!

    init() {}

    init(headers: HTTPFields) throws(ProxyRequestError) {
        for value in headers[values: .cacheControl] {
            for directive in value.split(separator: ",") {
                let parts = directive.split(separator: "=", maxSplits: 1)
                let name = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : nil
                switch name {
                case "no-cache": lookup = false
                case "no-store": store = false
                case "max-age":
                    guard let argument, let seconds = Int(argument.trimmingCharacters(in: CharacterSet(charactersIn: "\""))), seconds >= 0 else {
                        throw ProxyRequestError("Cache-Control max-age must be a whole number of seconds, e.g. max-age=300; got '\(directive.trimmingCharacters(in: .whitespaces))'", param: "Cache-Control")
                    }
                    maxAge = .seconds(seconds)
                default: continue
                }
            }
        }
        if let value = headers[Self.ttlHeader] {
            guard let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds > 0 else {
                throw ProxyRequestError("X-Cache-TTL must be a positive whole number of seconds, e.g. 3600; got '\(value)'", param: "X-Cache-TTL")
            }
            ttl = .seconds(seconds)
        }
        for value in headers[values: Self.tagsHeader] {
            for tag in value.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = tag.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty else {
                    throw ProxyRequestError("X-Cache-Tags must be comma-separated non-empty tags, e.g. 'faq,release-3'; got '\(value)'", param: "X-Cache-Tags")
                }
                guard trimmed.utf8.count <= 256 else {
                    throw ProxyRequestError("a tag in X-Cache-Tags is longer than 256 bytes; use shorter tags", param: "X-Cache-Tags")
                }
                tags.append(trimmed)
            }
        }
        if let value = headers[Self.semanticHeader] {
            semantic = try Self.parseSemantic(value)
        }
    }

    static func parseSemantic(_ value: String) throws(ProxyRequestError) -> SemanticMode {
        let text = value.trimmingCharacters(in: .whitespaces).lowercased()
        switch text {
        case "off": return .off
        case "on": return .on
        default:
            let parts = text.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "threshold",
               let threshold = Double(parts[1].trimmingCharacters(in: .whitespaces)), threshold > 0, threshold <= 1 {
                return .threshold(threshold)
            }
            throw ProxyRequestError("X-Cache-Semantic must be off, on, or threshold=T with 0 < T <= 1 (e.g. threshold=0.9); got '\(value)'", param: "X-Cache-Semantic")
        }
    }

    /// Applies a body-level `cache` object, as LiteLLM's clients send it
    /// (`extra_body={"cache": {...}}`): `"no-cache": true` (skip the lookup,
    /// refresh the entry), `"no-store": true`, `"ttl": N` (seconds to keep the
    /// answer), `"s-maxage": N` (serve only answers at most N seconds old),
    /// `"namespace": "name"` (a namespace inside the caller's own). They add
    /// to the headers' controls; a value given both ways is taken from the body.
    ///
    /// - Returns: the namespace the object names, if any.
    @discardableResult
    mutating func apply(body object: JSONValue) throws(ProxyRequestError) -> String? {
        guard case .object(let members) = object else {
            throw ProxyRequestError("cache must be an object of per-request cache controls, e.g. {\"no-cache\": true, \"ttl\": 600}; got \(object.typeName)", param: "cache")
        }
        var namespace: String?
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            func seconds(allowZero: Bool) throws(ProxyRequestError) -> Int {
                guard let number = value.numberValue?.intValue, number > 0 || (allowZero && number == 0) else {
                    throw ProxyRequestError("cache.\(name) must be a whole number of seconds\(allowZero ? "" : " above 0"), e.g. 600", param: "cache.\(name)")
                }
                return number
            }
            func flag() throws(ProxyRequestError) -> Bool {
                guard case .bool(let flag) = value else {
                    throw ProxyRequestError("cache.\(name) must be true or false", param: "cache.\(name)")
                }
                return flag
            }
            switch name {
            case "no-cache": if try flag() { lookup = false }
            case "no-store": if try flag() { store = false }
            case "ttl": ttl = .seconds(try seconds(allowZero: false))
            case "s-maxage": maxAge = .seconds(try seconds(allowZero: true))
            case "namespace":
                guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 256 else {
                    throw ProxyRequestError("cache.namespace must be a non-empty string of at most 256 bytes", param: "cache.namespace")
                }
                namespace = text
            default:
                throw ProxyRequestError("cache.\(name) is not a cache control; use no-cache, no-store, ttl, s-maxage or namespace", param: "cache.\(name)")
            }
        }
        return namespace
    }

    /// Neither look up nor store: the request is answered by the upstream
    /// alone (`X-Cache: BYPASS`).
    mutating func bypass() {
        lookup = false
        store = false
    }

    /// The core's per-call options for these controls in `namespace`, with
    /// the server's semantic settings deciding what `serverDefault` and `on` mean.
    ///
    /// - Parameter semanticIndexReady: whether the semantic index is complete
    ///   (``SemanticReadiness``); until it is, a request that would be matched
    ///   by meaning is only indexed.
    func options(namespace: String, semantic settings: ProxyServer.Configuration.Semantic, semanticIndexReady: Bool) -> LLMCache.Options {
        var control: LLMCache.SemanticControl
        switch semantic {
        case .off: control = .off
        case .on: control = .threshold(Float(settings.threshold))
        case .threshold(let threshold): control = .threshold(Float(threshold))
        case .serverDefault: control = settings.enabled ? .threshold(Float(settings.threshold)) : .off
        }
        if !semanticIndexReady, control != .off { control = .indexOnly }
        return LLMCache.Options(namespace: namespace, ttl: ttl, tags: tags, lookup: lookup, store: store, maxAge: maxAge, semantic: control)
    }
}

/// Whether the semantic index is complete, so that the semantic tier may
/// answer: the proxy listens at once at start-up and answers by exact match
/// until its index is rebuilt (docs/PROXY.md, "Start-up").
///
/// Until then requests get ``LLMCache/SemanticControl/indexOnly`` where they
/// would have been matched by meaning: none sees half an index (a paraphrase
/// whose best match is not indexed yet served a lesser one, or two close
/// candidates with a third still to come), and every answer computed
/// meanwhile is embedded and indexed, so none is lost to later requests.
/// Reading it on a request is one atomic load. Thread-safe.
final class SemanticReadiness: Sendable {
    /// A store of at most this many entries is indexed before the server
    /// listens: a fraction of a second, after which even the first request
    /// is matched by meaning (a restart over a small cache serves by meaning
    /// at once). A larger one, or one whose count is unknown, is indexed in
    /// the background.
    static let rebuildBeforeListeningLimit = 10_000
    /// How often a rebuild in the background logs its progress.
    static let logInterval = Duration.seconds(5)

    private let ready = Atomic<Bool>(true)
    /// Entries read and vectors indexed by the rebuild under way.
    private let scanned = Atomic<Int>(0)
    private let indexed = Atomic<Int>(0)
    /// The store's entry count when the rebuild began, or -1 when unknown.
    private let total = Atomic<Int>(-1)
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    /// Whether the semantic tier may answer. `true` without a semantic tier,
    /// and until ``start(_:semantic:store:logger:)`` begins a rebuild.
    var isReady: Bool { ready.load(ordering: .acquiring) }

    /// The body of `GET /healthz`: `{"status":"ok"}` when the index is ready
    /// or there is none, and while it is being rebuilt
    /// `{"status":"ok","semantic_index":"rebuilding","progress":0.12}`, the
    /// part of the store's entries read (left out when their count is unknown).
    var healthBody: String {
        guard !isReady else { return #"{"status":"ok"}"# }
        guard let progress else { return #"{"status":"ok","semantic_index":"rebuilding"}"# }
        return #"{"status":"ok","semantic_index":"rebuilding","progress":\#(progress)}"#
    }

    /// While the index is rebuilt, the part of the store's entries read so far
    /// (to a thousandth, rounded down); `nil` when their count is unknown or
    /// the index is ready.
    var progress: Double? {
        guard !isReady else { return nil }
        let total = total.load(ordering: .relaxed)
        guard total >= 0 else { return nil }
        let fraction = ProgressLine("", done: scanned.load(ordering: .relaxed), of: total, elapsed: .zero).fraction ?? 0
        return (fraction * 1000).rounded(.down) / 1000
    }

    /// Returns when the index is ready; at once if it is.
    func waitUntilReady() async {
        await withCheckedContinuation { continuation in
            let now = waiters.withLock { waiters in
                guard !isReady else { return true }
                waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Fills `semantic`'s index from `store` as `loading` says: before the
    /// server listens when the store is small (see
    /// ``rebuildBeforeListeningLimit``), otherwise on the task returned,
    /// which the caller cancels when it stops serving. Until that task ends
    /// ``isReady`` is `false`.
    func start(_ loading: ProxyServer.SemanticIndexLoading, semantic: SemanticCache?, store: any CacheStore, logger: Logger) async -> Task<Void, Never>? {
        guard let semantic else { return nil }
        let count = try? await store.count()
        let small = count.map { $0 <= Self.rebuildBeforeListeningLimit } ?? false
        switch loading {
        case .external(let loaded):
            if small {
                await loaded()
                return nil
            }
            begin(total: nil)
            logger.info("semantic index loading in the background; requests are answered by exact match until it is ready")
            return Task {
                await loaded()
                guard !Task.isCancelled else { return }
                finish()
                logger.info("semantic index ready", metadata: ["vectors": "\(semantic.count)"])
            }
        case .rebuildFromStore:
            if small {
                // The store outlives processes; its vectors come back before the first request.
                await rebuild(semantic, from: store, total: count, logger: logger)
                return nil
            }
            begin(total: count)
            logger.info("semantic index rebuilding in the background from \(count.map { "\($0) entries" } ?? "the store"); requests are answered by exact match until it is ready")
            return Task {
                await rebuild(semantic, from: store, total: count, logger: logger)
                guard !Task.isCancelled else { return }
                finish()
            }
        }
    }

    private func begin(total: Int?) {
        scanned.store(0, ordering: .relaxed)
        indexed.store(0, ordering: .relaxed)
        self.total.store(total ?? -1, ordering: .relaxed)
        ready.store(false, ordering: .releasing)
    }

    private func finish() {
        let waiting = waiters.withLock { waiters in
            ready.store(true, ordering: .releasing)
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Rebuilds the index, logging its progress every ``logInterval`` and
    /// its end. A failure leaves the vectors indexed so far, and the tier
    /// answers with them, as it does with answers stored from then on.
    private func rebuild(_ semantic: SemanticCache, from store: any CacheStore, total: Int?, logger: Logger) async {
        let start = ContinuousClock.now
        do {
            let vectors = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask {
                    try await semantic.rebuild(from: store) { read, added in
                        self.scanned.store(read, ordering: .relaxed)
                        self.indexed.store(added, ordering: .relaxed)
                    }
                }
                group.addTask {
                    while (try? await Task.sleep(for: Self.logInterval)) != nil {
                        let line = ProgressLine(
                            "semantic index rebuilding", done: self.scanned.load(ordering: .relaxed), of: total,
                            unit: "entries scanned", elapsed: ContinuousClock.now - start
                        )
                        logger.info("\(line.plain)", metadata: ["vectors": "\(self.indexed.load(ordering: .relaxed))"])
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let vectors = result { return vectors }
                }
                return 0
            }
            // A server stopping ends the store's stream early: that is no rebuild.
            guard !Task.isCancelled else { return }
            let elapsed = ContinuousClock.now - start
            logger.info(
                "semantic index rebuilt: \(vectors) vectors in \(ProgressLine.elapsed(elapsed))",
                metadata: ["vectors": "\(vectors)", "entries": "\(scanned.load(ordering: .relaxed))", "seconds": "\(elapsed.seconds)"]
            )
        } catch {
            logger.warning("semantic index not rebuilt; answers stored before it stopped are served by exact match only", metadata: ["error": "\(error)", "vectors": "\(indexed.load(ordering: .relaxed))"])
        }
    }
}
