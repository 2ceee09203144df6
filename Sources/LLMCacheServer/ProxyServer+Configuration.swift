import LLMCache
import LLMCacheOpenAI

/// The settings' former name.
@available(*, deprecated, renamed: "ProxyServer.Configuration")
public typealias ProxyConfiguration = ProxyServer.Configuration

extension ProxyServer {
    /// Settings of the caching proxy. Every default is stated on its property.
    /// A value type; build it once and hand it to ``ProxyServer``.
    public struct Configuration: Sendable {
        /// Where misses go.
        public struct Upstream: Sendable {
            /// The API root including its version path, as an OpenAI SDK's
            /// `base_url`: requests to the proxy's `/v1/<route>` go to
            /// `<baseURL>/<route>`. Default `https://api.openai.com/v1`.
            public var baseURL: String
            /// The root of Anthropic's API, where `POST /v1/messages` (and
            /// every other request carrying an `anthropic-version` header, and
            /// every `/v1/messages/...` route) goes: the proxy's `/v1/messages`
            /// goes to `<anthropicBaseURL>/v1/messages`, as an Anthropic SDK's
            /// `base_url` works (a trailing `/v1` is tolerated). Timeouts and
            /// limits are those of this struct. Default `https://api.anthropic.com`.
            public var anthropicBaseURL: String
            /// Establishing a connection to the upstream. Default 10 seconds. A
            /// refused connection or an unknown host fails at once; this bounds
            /// only a host that does not answer.
            public var connectTimeout: Duration
            /// A whole upstream call, streams included: a stream still running
            /// then is cut with an error event and not cached. Default 600 seconds.
            public var requestTimeout: Duration
            /// The longest silence between two events of a stream once it has
            /// begun; a stream silent for longer is cut with an error event and
            /// not cached. `nil`: only ``requestTimeout`` applies. Default 120 seconds.
            public var idleTimeout: Duration?
            /// Calls in flight to each upstream at most: connections over
            /// HTTP/1.1 (over HTTP/2, which the client negotiates with an
            /// `https` upstream that offers it, calls share connections).
            /// Further calls wait their turn (``queueLength``,
            /// ``queueTimeout``). Default 256: generations take 10–60
            /// seconds, so a limit sized for quick calls would queue callers
            /// of a healthy upstream.
            public var maximumConnections: Int
            /// Calls that may wait for an upstream slot when all
            /// ``maximumConnections`` are in use; one more is answered 503
            /// with `Retry-After: 1`. 0: none wait. Default 1,024.
            public var queueLength: Int
            /// How long a call waits for an upstream slot before it is
            /// answered 503 with `Retry-After: 5`. It is not part of
            /// ``requestTimeout``, which runs from the call. Default 30 seconds.
            public var queueTimeout: Duration
            /// The largest non-streamed upstream answer accepted. Default 64 MiB.
            public var maximumResponseBytes: Int
            /// Whether a streamed miss asks the upstream for its usage
            /// (`stream_options.include_usage`) even when the caller did not, so
            /// that the stored answer has `usage` (later hits report it, savings
            /// count it); the caller who did not ask does not see the usage chunk.
            /// Turn off only for an upstream that refuses `stream_options`.
            /// Default true.
            public var requestsStreamUsage: Bool

            public init(
                baseURL: String = "https://api.openai.com/v1",
                anthropicBaseURL: String = "https://api.anthropic.com",
                connectTimeout: Duration = .seconds(10),
                requestTimeout: Duration = .seconds(600),
                idleTimeout: Duration? = .seconds(120),
                maximumConnections: Int = 256,
                queueLength: Int = 1024,
                queueTimeout: Duration = .seconds(30),
                maximumResponseBytes: Int = 64 << 20,
                requestsStreamUsage: Bool = true
            ) {
                self.queueLength = queueLength
                self.queueTimeout = queueTimeout
                self.baseURL = baseURL
                self.anthropicBaseURL = anthropicBaseURL
                self.connectTimeout = connectTimeout
                self.requestTimeout = requestTimeout
                self.idleTimeout = idleTimeout
                self.maximumConnections = maximumConnections
                self.maximumResponseBytes = maximumResponseBytes
                self.requestsStreamUsage = requestsStreamUsage
            }
        }

        /// Which callers share entries.
        public struct Tenancy: Sendable {
            /// `nil` (the default): each set of credentials (the `Authorization`,
            /// `api-key` and `x-api-key` headers) gets its own namespace, derived
            /// by SHA-256, so two API keys never see each other's answers. A name:
            /// every caller shares that one namespace — only for deployments where
            /// all callers may see all answers.
            public var sharedNamespace: String?

            public init(sharedNamespace: String? = nil) {
                self.sharedNamespace = sharedNamespace
            }
        }

        /// The admin API (`/admin/...`).
        public struct Admin: Sendable {
            /// The bearer token the admin API requires. Default `nil`: the admin
            /// API is disabled and answers 403.
            public var token: String?

            public init(token: String? = nil) {
                self.token = token
            }
        }

        /// Semantic caching (answers for requests that mean the same).
        public struct Semantic: Sendable {
            /// Whether requests are matched by meaning after an exact miss, unless
            /// they send `X-Cache-Semantic: off`. Default `false`. Needs a
            /// ``SemanticLookup`` given to the server.
            public var enabled: Bool
            /// The least cosine similarity (0 < T ≤ 1) a match needs, unless a
            /// request sends `X-Cache-Semantic: threshold=T`. Default: the semantic
            /// cache's own default (`SemanticCache.Configuration().threshold`, 0.85),
            /// so library and proxy agree.
            public var threshold: Double

            /// The semantic cache's default threshold, as the decimal it was written as
            /// (the `Float` 0.85 widens to 0.8500000238…).
            public static var libraryThreshold: Double {
                (Double(SemanticCache.Configuration().threshold) * 10_000).rounded() / 10_000
            }

            public init(enabled: Bool = false, threshold: Double = Self.libraryThreshold) {
                self.enabled = enabled
                self.threshold = threshold
            }
        }

        /// The address to listen on. Default `127.0.0.1`.
        public var host: String
        /// The port to listen on; 0 picks a free one. Default 8080.
        public var port: Int
        /// Where misses go. Default: see ``Upstream``.
        public var upstream: Upstream
        /// Which callers share entries. Default: one namespace per credential.
        public var tenancy: Tenancy
        /// The admin API. Default: disabled.
        public var admin: Admin
        /// Semantic caching. Default: off.
        public var semantic: Semantic
        /// The largest request body accepted; larger ones get 413 and never reach
        /// the upstream. Default 4 MiB.
        public var maximumRequestBytes: Int
        /// Prices used to report the cost hits saved. Default ``PriceTable/standard``.
        public var prices: PriceTable
        /// How cached answers are cut into chunks for streamed hits. Default 16
        /// characters a chunk.
        public var replay: StreamReplay
        /// Time-outs and the limit on client connections. Default: see ``Connections``.
        public var connections: Connections
        /// The wall clock that dates the admin API's history
        /// (`/admin/history`) and recent semantic hits. Default
        /// ``SystemCacheClock``; a test gives a ``ManualCacheClock`` to move
        /// time without sleeping. Entries' ages and expiry go by the store's
        /// clock, not this one.
        public var historyClock: any CacheClock
        /// Whether finished requests are recorded in the dashboard's history
        /// (``ProxyHistory``). Always on in `llm-cache serve`; `bench proxy`
        /// turns it off on a second proxy to measure what recording costs.
        package var keepsHistory = true

        public init(
            host: String = "127.0.0.1",
            port: Int = 8080,
            upstream: Upstream = Upstream(),
            tenancy: Tenancy = Tenancy(),
            admin: Admin = Admin(),
            semantic: Semantic = Semantic(),
            maximumRequestBytes: Int = 4 << 20,
            prices: PriceTable = .standard,
            replay: StreamReplay = StreamReplay(),
            connections: Connections = Connections(),
            historyClock: any CacheClock = SystemCacheClock()
        ) {
            self.host = host
            self.port = port
            self.upstream = upstream
            self.tenancy = tenancy
            self.admin = admin
            self.semantic = semantic
            self.maximumRequestBytes = maximumRequestBytes
            self.prices = prices
            self.replay = replay
            self.connections = connections
            self.historyClock = historyClock
        }
    }
}
