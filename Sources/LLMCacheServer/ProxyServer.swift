import AsyncHTTPClient
import Hummingbird
import LLMCache
import LLMCacheOpenAI
import Logging
import Prometheus
import ServiceLifecycle

/// The OpenAI-compatible caching proxy: point any OpenAI client's `base_url`
/// at it and repeated requests are answered from the cache.
///
/// Routes: `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
/// `/v1/responses` (OpenAI's Responses API) and `/v1/messages` (Anthropic's
/// Messages API, sent to the Anthropic upstream) — cached; every other
/// `/v1/...` route (passed through to its upstream untouched), `GET /healthz`
/// (liveness), `GET /readyz` (readiness: store, upstreams, semantic index),
/// `GET /metrics` (Prometheus text) and the admin API under `/admin/` (see
/// docs/PROXY.md).
///
/// A ServiceLifecycle `Service`: run it in a `ServiceGroup`, or call
/// ``run()`` directly and cancel the task to stop. Thread-safe.
public final class ProxyServer: Service {
    /// How the semantic index is filled when the server starts.
    ///
    /// Either way, a store of up to 10 000 entries is indexed before the
    /// server listens, so that even the first request is matched by meaning;
    /// over a larger one the server listens at once and answers by exact
    /// match until the index is ready, while `GET /healthz` reports
    /// `"semantic_index":"rebuilding"` (docs/PROXY.md, "Start-up").
    public enum SemanticIndexLoading: Sendable {
        /// ``run()`` rebuilds it from the store, logging its progress. The default.
        case rebuildFromStore
        /// Something else rebuilds it and keeps it current, such as
        /// LLMCacheRedis's `SemanticIndexFollower` for a store shared by a
        /// fleet; ``run()`` awaits `ready` to turn the semantic tier on, and
        /// does not build the index a second time.
        case external(ready: @Sendable () async -> Void)
    }

    /// The settings this server was made with.
    public let configuration: Configuration
    /// The cache the server answers from.
    public let cache: LLMCache
    /// The Prometheus registry `/metrics` exports: the cache's `llm_cache_*`
    /// metrics and the proxy's `llm_cache_proxy_*` metrics.
    public let registry: PrometheusCollectorRegistry
    let logger: Logger
    let failures: FailureLog
    let onListening: @Sendable (_ port: Int) async -> Void
    let metrics: ProxyMetrics
    let tenants: TenantNamespace
    let requestMemo = RequestMemo()
    let adminToken: AdminToken?
    let semanticIndexLoading: SemanticIndexLoading
    let semanticReadiness = SemanticReadiness()
    let storeCheck = StoreCheckThrottle()

    /// Creates a server over `store`.
    ///
    /// - Parameters:
    ///   - cacheConfiguration: the cache's settings (default TTL, compression,
    ///     sampling); its namespace is replaced per request by tenancy.
    ///   - semantic: the semantic tier answering requests that mean the same as
    ///     a cached one, per ``Configuration/semantic`` and each request's
    ///     `X-Cache-Semantic`; it is rebuilt from `store` when the server starts.
    ///     `nil` (the default) serves exact matches only, whatever the
    ///     configuration and headers say.
    ///   - semanticIndex: how the semantic index is filled at start; default
    ///     ``SemanticIndexLoading/rebuildFromStore``.
    ///   - onListening: called once the server accepts connections, with the
    ///     port it listens on (the one picked when the configured port is 0).
    public init(
        configuration: Configuration,
        store: any CacheStore,
        cacheConfiguration: LLMCache.Configuration = LLMCache.Configuration(),
        semantic: SemanticCache? = nil,
        semanticIndex: SemanticIndexLoading = .rebuildFromStore,
        logger: Logger = Logger(label: "llm-cache.serve"),
        onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.cache = LLMCache(store: store, semantic: semantic, configuration: cacheConfiguration, logger: logger, metricsFactory: PrometheusMetricsFactory(registry: registry))
        self.logger = logger
        self.failures = FailureLog(logger: logger)
        self.onListening = onListening
        self.metrics = ProxyMetrics(registry: registry, historyClock: configuration.historyClock, keepsHistory: configuration.keepsHistory)
        self.tenants = TenantNamespace(shared: configuration.tenancy.sharedNamespace)
        self.adminToken = configuration.admin.token.map(AdminToken.init)
        self.semanticIndexLoading = semanticIndex
    }

    /// Serves until the task is cancelled or the service group shuts down.
    public func run() async throws {
        // A large store's index is rebuilt while the server answers by exact match.
        let indexing = await semanticReadiness.start(semanticIndexLoading, semantic: cache.semantic, store: cache.store, logger: logger)
        defer { indexing?.cancel() }
        let client = Upstream.makeClient(configuration.upstream)
        let handlers = ProxyHandlers(
            server: self,
            upstream: Upstream(client: client, configuration: configuration.upstream, logger: logger),
            anthropic: Upstream.anthropic(client: client, configuration: configuration.upstream, logger: logger)
        )
        let router = Router()
        handlers.register(on: router)
        let onListening = self.onListening
        let port = configuration.port
        let app = Application(
            router: router,
            server: ConnectionGuard.server(configuration.connections, maximumRequestBytes: configuration.maximumRequestBytes, logger: logger),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
        do {
            try await app.run()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
