import ArgumentParser
import Foundation
import LLMCache
import LLMCacheEmbeddings
import LLMCacheRedis
import LLMCacheServer
import LLMCacheVectorIndex
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the caching proxy for OpenAI and Anthropic clients.",
        discussion: """
            Point any OpenAI client's base URL at http://HOST:PORT/v1, and any Anthropic client's \
            at http://HOST:PORT. Chat completions, completions, embeddings, the Responses API \
            and Anthropic's Messages API are cached: repeated requests are answered from the \
            cache (X-Cache: HIT); misses go to the upstream (--upstream, or \
            --anthropic-upstream for /v1/messages) with the caller's own credentials. Each API \
            key gets its own namespace unless --shared-namespace is given.

            The embedded default needs no other service: a SQLite file, and semantic matching \
            with the native all-MiniLM-L6-v2 model (installed by make run). With --redis, \
            entries live in Redis behind an in-process memory tier, so every proxy sharing \
            that Redis shares the cache, its semantic index (kept in step through a Redis stream) \
            and each other's invalidations.

            Every option can also be set by an environment variable (shown with each option) \
            or in a JSON file given with --config, whose keys are the option names with \
            underscores (e.g. {"upstream": "http://127.0.0.1:8000/v1", "admin_token": "...", \
            "prices": {"gpt-4o": {"input_per_million": 2.5, "output_per_million": 10}}}). \
            Flags win over the environment, which wins over the file.

            GET /healthz answers 200 while the process serves (liveness); GET /readyz answers \
            503 naming the failing dependency when the store or an upstream is failing \
            (readiness), 200 otherwise.

            Prints one line, "listening on http://HOST:PORT", on standard output once it \
            accepts connections; logs go to standard error. See docs/PROXY.md.
            """
    )

    @Option(help: "The address to listen on. Env LLMCACHE_HOST. Default 127.0.0.1.")
    var host: String?

    @Option(help: "The port to listen on; 0 picks a free one. Env LLMCACHE_PORT. Default 8080.")
    var port: Int?

    @Option(help: "The upstream API root including /v1, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1. Env LLMCACHE_UPSTREAM. Default https://api.openai.com/v1.")
    var upstream: String?

    @Option(help: "Anthropic's API root, without /v1: POST /v1/messages, /v1/messages/... and every request with an anthropic-version header go to <URL>/v1/.... Env LLMCACHE_ANTHROPIC_UPSTREAM. Default https://api.anthropic.com.")
    var anthropicUpstream: String?

    @Option(help: "Where entries live: memory or sqlite:PATH. Env LLMCACHE_STORE. Default sqlite:./llm-cache.sqlite; not used with --redis.")
    var store: String?

    @Option(help: "Keep entries in Redis, shared by every proxy pointing at it, behind a memory tier kept coherent by pub/sub: redis://[user:password@]HOST:PORT[/DB] or rediss:// for TLS. Env LLMCACHE_REDIS. Replaces --store.")
    var redis: String?

    @Option(help: "The prefix of every Redis key, so several caches can share one Redis. Env LLMCACHE_REDIS_PREFIX. Default llmcache:.")
    var redisPrefix: String?

    @Option(help: "The byte budget, in MiB, of the memory tier in front of the SQLite file or Redis (of the whole cache with --store memory). Env LLMCACHE_MEMORY_MB. Default 256.")
    var memoryMb: Int?

    @Option(help: "The byte budget, in MiB, of the in-process semantic index (vectors, graph links and texts), apart from --memory-mb. Past it the least recently matched entries lose their vectors: they stay cached and exact hits, no longer matched by meaning. Env LLMCACHE_SEMANTIC_MEMORY_MB. Default 128, about 45,000 entries.")
    var semanticMemoryMb: Int?

    @Option(help: "The most requests waiting at once for the native model to embed their text, semantic matching being on. Past it a miss is not embedded: it is looked up and stored by exact key only (an exact hit later, not matched by meaning), counted in /admin/stats as semantic.skipped_lookups, so a burst of distinct long prompts does not queue every miss behind the others' embeddings. 0 for no limit. Env LLMCACHE_EMBED_QUEUE. Default 4 per core.")
    var embedQueue: Int?

    @Option(help: "The bearer token of the admin API (/admin/...); without one the admin API is disabled. Env LLMCACHE_ADMIN_TOKEN.")
    var adminToken: String?

    @Option(help: "Put every caller's entries in this one namespace instead of one per API key. Only for deployments where all callers may see all answers. Env LLMCACHE_SHARED_NAMESPACE.")
    var sharedNamespace: String?

    @Option(help: "Semantic matching after an exact miss (X-Cache: SEMANTIC-HIT): on or off; a request can still opt in or out with X-Cache-Semantic. Env LLMCACHE_SEMANTIC. Default on when the model is installed, else off with a warning; 'on' without the model is an error that says how to install it.")
    var semantic: String?

    @Option(help: "The least cosine similarity (0 < T <= 1) of a semantic match. Env LLMCACHE_THRESHOLD. Default 0.85, the semantic cache's default (see docs/SEMANTIC.md for how it was chosen).")
    var threshold: Double?

    @Option(name: .customLong("model-dir"), help: ArgumentHelp("The all-MiniLM-L6-v2 folder for semantic matching. Env LLMCACHE_MODEL_DIR. Default ${XDG_CACHE_HOME:-~/.cache}/llm-cache/models/all-MiniLM-L6-v2, where scripts/install-model.sh puts it.", valueName: "dir"))
    var modelDir: String?

    @Option(help: "What to do with sampled requests (temperature above 0; a request without one counts as 1): cache-all caches them like any other; variants:N keeps N answers per request, the first N calls go upstream and later ones rotate through the stored answers (X-Cache: HIT); skip-above:T neither serves nor stores requests above temperature T (X-Cache: BYPASS). Env LLMCACHE_SAMPLING. Default cache-all.")
    var sampling: String?

    @Option(help: "Seconds an answer is kept unless the request sends X-Cache-TTL. Env LLMCACHE_TTL. Default 604800 (7 days).")
    var ttl: Int?

    @Option(help: "The largest request body accepted, in bytes; larger get 413. Env LLMCACHE_MAX_BODY_BYTES. Default 4194304 (4 MiB).")
    var maxBodyBytes: Int?

    @Option(help: "Seconds an upstream call may take in all, streams included: a stream still running then ends with an error event and is not cached. Env LLMCACHE_UPSTREAM_TIMEOUT. Default 600.")
    var upstreamTimeout: Double?

    @Option(help: "Seconds a stream may fall silent between events before it is cut (an error event, not cached); 0 for no limit but --upstream-timeout. Env LLMCACHE_UPSTREAM_IDLE_TIMEOUT. Default 120.")
    var upstreamIdleTimeout: Double?

    @Option(help: "on: a streamed miss asks the upstream for usage (stream_options.include_usage) so stored answers carry it, and callers who did not ask do not see the usage chunk; off: only for an upstream that refuses stream_options. Env LLMCACHE_STREAM_USAGE. Default on.")
    var streamUsage: String?

    @Option(help: "Seconds to establish an upstream connection; a refused connection or unknown host fails at once. Env LLMCACHE_CONNECT_TIMEOUT. Default 10.")
    var connectTimeout: Double?

    @Option(help: "Calls in flight to each upstream at most (connections over HTTP/1.1); more wait their turn. Env LLMCACHE_UPSTREAM_CONNECTIONS. Default 256.")
    var upstreamConnections: Int?

    @Option(help: "Calls that may wait for an upstream slot when all are in use; one more is answered 503 with Retry-After. 0: none wait. Env LLMCACHE_UPSTREAM_QUEUE. Default 1024.")
    var upstreamQueue: Int?

    @Option(help: "Seconds a call waits for an upstream slot before it is answered 503 with Retry-After. Env LLMCACHE_UPSTREAM_QUEUE_TIMEOUT. Default 30.")
    var upstreamQueueTimeout: Double?

    @Option(help: "Seconds a client has to send a complete request head, from connecting (or from the first byte of a next request on a kept-alive connection); then the connection is closed. Env LLMCACHE_HEADER_TIMEOUT. Default 10.")
    var headerTimeout: Double?

    @Option(help: "Seconds a request body may take to arrive after its head; then the client gets 408 and the connection is closed. Env LLMCACHE_BODY_TIMEOUT. Default 60.")
    var bodyTimeout: Double?

    @Option(help: "Seconds a kept-alive client connection may wait with no request in flight before it is closed (a response being streamed is not idle). Env LLMCACHE_IDLE_TIMEOUT. Default 60.")
    var idleTimeout: Double?

    @Option(help: "Client connections open at once at most; beyond it new connections are closed at once. Env LLMCACHE_MAX_CONNECTIONS. Default 10000.")
    var maxConnections: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. Env LLMCACHE_LOG_LEVEL. Default info.")
    var logLevel: String?

    @Option(help: "A JSON file of settings (keys as the options, with underscores; plus \"prices\"). Env LLMCACHE_CONFIG.")
    var config: String?

    func run() async throws {
        let settings = try ServeSettings(command: self, environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = settings.logLevel
            return handler
        }
        let logger = Logger(label: "llm-cache.serve")
        Self.raiseOpenFileLimit(toServe: settings.configuration.connections.maximumConnections, logger: logger)
        var services: [any Service] = []
        let store: any CacheStore
        let storeDescription: String
        let semantic = try settings.openSemanticTier(logger: logger)
        var semanticIndex = ProxyServer.SemanticIndexLoading.rebuildFromStore
        if let redis = settings.redis {
            let client = try RedisClient(configuration: redis, logger: logger)
            let tiered = TieredStore(memory: MemoryStore(configuration: .init(maximumBytes: settings.memoryBytes)), redis: try RedisStore(client: client, configuration: .init(keyPrefix: settings.redisPrefix), logger: logger), logger: logger)
            services += [client, tiered]
            if let semantic {
                // Every proxy's index follows what the others store and invalidate;
                // the follower also does the start-up rebuild.
                let follower = try SemanticIndexFollower(semantic: semantic, store: tiered, logger: logger)
                services.append(follower)
                semanticIndex = .external(ready: { await follower.waitUntilReady() })
            }
            store = tiered
            storeDescription = "redis \(redis.tls == nil ? "redis" : "rediss")://\(redis.host):\(redis.port)/\(redis.database) (prefix \(settings.redisPrefix)) behind \(settings.memoryBytes >> 20) MiB of memory"
        } else {
            let opened = try settings.store.openForServing(memoryBytes: settings.memoryBytes, logger: logger)
            store = opened.store
            storeDescription = opened.description
        }
        let host = settings.configuration.host
        let upstream = settings.configuration.upstream.baseURL
        let modelDescription = semantic.map { "\($0.embeddingModel), threshold \(settings.configuration.semantic.threshold), index budget \(settings.semanticMemoryBytes >> 20) MiB, embed queue \(settings.embedQueue.map(String.init) ?? "unlimited")" } ?? "none (exact matches only)"
        let server = ProxyServer(
            configuration: settings.configuration,
            store: store,
            cacheConfiguration: LLMCache.Configuration(defaultTTL: settings.ttl, sampling: settings.sampling),
            semantic: semantic,
            semanticIndex: semanticIndex,
            logger: logger,
            onListening: { port in
                // Unbuffered, so a parent process reading the pipe sees it at once.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
                FileHandle.standardError.write(Data(ServeCommand.banner(host: host, port: port, upstream: upstream, store: storeDescription, model: modelDescription).utf8))
            }
        )
        services.append(server)
        logger.info("serving", metadata: ["upstream": "\(upstream)", "store": "\(storeDescription)", "semantic": "\(modelDescription)", "sampling": "\(settings.sampling)", "tenancy": "\(settings.configuration.tenancy.sharedNamespace.map { "shared namespace \($0)" } ?? "one namespace per credential")", "admin": "\(settings.configuration.admin.token == nil ? "disabled" : "enabled")"])
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Raises the soft limit on open files to the hard one: each client
    /// connection is a file, and the usual soft limit (1024) is far below the
    /// default connection limit.
    static func raiseOpenFileLimit(toServe connections: Int, logger: Logger) {
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            #if canImport(Darwin)
            // Darwin refuses a soft limit above OPEN_MAX, and its hard limit is often unlimited.
            raised.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
            #endif
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        logger.debug("open files limit", metadata: ["soft": "\(limit.rlim_cur)", "hard": "\(limit.rlim_max)"])
        // Listening sockets, the store and upstream connections need some files too.
        if limit.rlim_cur < rlim_t(connections) + 256 {
            logger.warning("the open files limit (\(limit.rlim_cur)) is below --max-connections (\(connections)) plus room for the proxy's own files: connections past it cannot be accepted; raise the hard limit (ulimit -Hn) or lower --max-connections")
        }
    }

    /// What `make run` shows a person: where to point a client, and how.
    static func banner(host: String, port: Int, upstream: String, store: String, model: String) -> String {
        let address = host.contains(":") ? "[\(host)]" : host
        return """

            llm-cache proxy ready
              listening  http://\(address):\(port)/v1   (point an OpenAI client's base_url here; an Anthropic client's at http://\(address):\(port))
              upstream   \(upstream)
              store      \(store)
              semantic   \(model)
              try it     curl -s http://\(address):\(port)/v1/chat/completions -H "Authorization: Bearer $OPENAI_API_KEY" -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}]}' -i
                         (run it twice: the second answer says X-Cache: HIT; without a key the upstream's 401 comes back as it was sent)


            """
    }
}

/// The serve settings after merging flags, environment and config file.
struct ServeSettings {
    var configuration = ProxyServer.Configuration()
    var store = StoreLocation.sqlite(path: "./llm-cache.sqlite")
    var ttl: Duration = .seconds(7 * 24 * 3600)
    var sampling = SamplingPolicy.cacheAll
    /// `nil`: on when the model is installed. `true`: on, or an error without the model.
    var semantic: Bool?
    var modelDirectory: String?
    var redis: RedisClient.Configuration?
    var redisPrefix = "llmcache:"
    var memoryBytes = 256 << 20
    /// The semantic index's budget: `SemanticCache.Configuration.maximumIndexBytes`'s default.
    var semanticMemoryBytes = SemanticCache.Configuration().maximumIndexBytes ?? 128 << 20
    /// `SemanticCache.Configuration.maximumPendingEmbeddings`; `nil` for no limit.
    var embedQueue: Int? = Self.defaultEmbedQueue
    /// Four texts per core: a miss then waits for at most about two passes
    /// per embedder thread before its own (docs/SEMANTIC.md, "Under load").
    static let defaultEmbedQueue = 4 * ProcessInfo.processInfo.activeProcessorCount
    var logLevel = Logger.Level.info

    static let fileKeys: Set<String> = [
        "host", "port", "upstream", "anthropic_upstream", "store", "redis", "redis_prefix", "memory_mb", "semantic_memory_mb", "embed_queue", "model_dir", "admin_token", "shared_namespace", "semantic", "threshold", "ttl", "sampling",
        "max_body_bytes", "upstream_timeout", "upstream_idle_timeout", "stream_usage", "connect_timeout", "upstream_connections", "upstream_queue", "upstream_queue_timeout", "log_level", "prices",
        "header_timeout", "body_timeout", "idle_timeout", "max_connections",
    ]

    init(command: ServeCommand, environment: [String: String]) throws {
        let file = try (command.config ?? environment["LLMCACHE_CONFIG"]).map(Self.readFile) ?? [:]
        func text(_ flag: String?, _ variable: String, _ key: String) throws -> String? {
            if let flag { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            switch file[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            case .number(let number)?: return number.text
            case .bool(let value)?: return value ? "on" : "off"
            default: throw ValidationError("\(key) in the config file must be a string or a number")
            }
        }
        func number<T: LosslessStringConvertible>(_ flag: T?, _ variable: String, _ key: String, _ type: T.Type) throws -> T? {
            if let flag { return flag }
            guard let value = try text(nil, variable, key) else { return nil }
            guard let parsed = T(value) else { throw ValidationError("\(variable) / \(key) must be a number, got '\(value)'") }
            return parsed
        }

        if let host = try text(command.host, "LLMCACHE_HOST", "host") { configuration.host = host }
        if let port = try number(command.port, "LLMCACHE_PORT", "port", Int.self) {
            guard (0...65535).contains(port) else { throw ValidationError("the port must be 0-65535, got \(port)") }
            configuration.port = port
        }
        if let upstream = try text(command.upstream, "LLMCACHE_UPSTREAM", "upstream") {
            guard let url = URL(string: upstream), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("the upstream must be an http(s) URL including /v1, e.g. https://api.openai.com/v1; got '\(upstream)'")
            }
            configuration.upstream.baseURL = upstream
        }
        if let anthropic = try text(command.anthropicUpstream, "LLMCACHE_ANTHROPIC_UPSTREAM", "anthropic_upstream") {
            guard let url = URL(string: anthropic), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("the Anthropic upstream must be an http(s) URL, e.g. https://api.anthropic.com; got '\(anthropic)'")
            }
            configuration.upstream.anthropicBaseURL = anthropic
        }
        let location = try text(command.store, "LLMCACHE_STORE", "store")
        if let location { store = try StoreLocation(parsing: location) }
        if let url = try text(command.redis, "LLMCACHE_REDIS", "redis") {
            if let location {
                throw ValidationError("--redis and --store \(location) both name where entries live; give one (with --redis, Redis holds the entries behind a memory tier)")
            }
            do {
                redis = try RedisClient.Configuration(url: url)
            } catch let error as RedisError {
                throw ValidationError("--redis: \(error.message)")
            }
        }
        if let prefix = try text(command.redisPrefix, "LLMCACHE_REDIS_PREFIX", "redis_prefix") {
            guard !prefix.isEmpty else { throw ValidationError("--redis-prefix must not be empty: it keeps this cache's keys apart from other data in Redis") }
            redisPrefix = prefix
        }
        if let megabytes = try number(command.memoryMb, "LLMCACHE_MEMORY_MB", "memory_mb", Int.self) {
            guard megabytes > 0, megabytes <= 1 << 20 else { throw ValidationError("--memory-mb must be between 1 and 1048576, got \(megabytes)") }
            memoryBytes = megabytes << 20
        }
        if let megabytes = try number(command.semanticMemoryMb, "LLMCACHE_SEMANTIC_MEMORY_MB", "semantic_memory_mb", Int.self) {
            guard megabytes > 0, megabytes <= 1 << 20 else { throw ValidationError("--semantic-memory-mb must be between 1 and 1048576, got \(megabytes)") }
            semanticMemoryBytes = megabytes << 20
        }
        if let queue = try number(command.embedQueue, "LLMCACHE_EMBED_QUEUE", "embed_queue", Int.self) {
            guard queue >= 0, queue <= 1 << 20 else { throw ValidationError("--embed-queue must be between 0 (no limit) and 1048576, got \(queue)") }
            embedQueue = queue == 0 ? nil : queue
        }
        modelDirectory = try text(command.modelDir, "LLMCACHE_MODEL_DIR", "model_dir")
        configuration.admin.token = try text(command.adminToken, "LLMCACHE_ADMIN_TOKEN", "admin_token")
        if let token = configuration.admin.token, token.count < 16 {
            throw ValidationError("the admin token must be at least 16 characters; generate one with: openssl rand -hex 24")
        }
        configuration.tenancy.sharedNamespace = try text(command.sharedNamespace, "LLMCACHE_SHARED_NAMESPACE", "shared_namespace")
        if let mode = try text(command.semantic, "LLMCACHE_SEMANTIC", "semantic") {
            switch mode.lowercased() {
            case "on", "true": semantic = true
            case "off", "false": semantic = false
            default: throw ValidationError("--semantic must be on or off, got '\(mode)'")
            }
        }
        configuration.semantic.enabled = semantic != false
        if let threshold = try number(command.threshold, "LLMCACHE_THRESHOLD", "threshold", Double.self) {
            guard threshold > 0, threshold <= 1 else { throw ValidationError("--threshold must be in (0, 1], got \(threshold)") }
            configuration.semantic.threshold = threshold
        }
        if let seconds = try number(command.ttl, "LLMCACHE_TTL", "ttl", Int.self) {
            guard seconds > 0 else { throw ValidationError("--ttl must be a positive number of seconds") }
            ttl = .seconds(seconds)
        }
        if let policy = try text(command.sampling, "LLMCACHE_SAMPLING", "sampling") {
            do {
                sampling = try SamplingPolicy(parsing: policy)
            } catch let error as CacheError {
                throw ValidationError("--sampling: \(error.message)")
            }
        }
        if let bytes = try number(command.maxBodyBytes, "LLMCACHE_MAX_BODY_BYTES", "max_body_bytes", Int.self) {
            guard bytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
            configuration.maximumRequestBytes = bytes
        }
        if let seconds = try number(command.upstreamTimeout, "LLMCACHE_UPSTREAM_TIMEOUT", "upstream_timeout", Double.self) {
            guard seconds > 0 else { throw ValidationError("--upstream-timeout must be positive") }
            configuration.upstream.requestTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let seconds = try number(command.upstreamIdleTimeout, "LLMCACHE_UPSTREAM_IDLE_TIMEOUT", "upstream_idle_timeout", Double.self) {
            guard seconds >= 0 else { throw ValidationError("--upstream-idle-timeout must be 0 (no limit) or a positive number of seconds, got \(seconds)") }
            configuration.upstream.idleTimeout = seconds == 0 ? nil : .milliseconds(Int64(seconds * 1000))
        }
        if let mode = try text(command.streamUsage, "LLMCACHE_STREAM_USAGE", "stream_usage") {
            switch mode.lowercased() {
            case "on", "true": configuration.upstream.requestsStreamUsage = true
            case "off", "false": configuration.upstream.requestsStreamUsage = false
            default: throw ValidationError("--stream-usage must be on or off, got '\(mode)'")
            }
        }
        if let seconds = try number(command.connectTimeout, "LLMCACHE_CONNECT_TIMEOUT", "connect_timeout", Double.self) {
            guard seconds > 0 else { throw ValidationError("--connect-timeout must be positive") }
            configuration.upstream.connectTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let connections = try number(command.upstreamConnections, "LLMCACHE_UPSTREAM_CONNECTIONS", "upstream_connections", Int.self) {
            guard connections > 0 else { throw ValidationError("--upstream-connections must be positive") }
            configuration.upstream.maximumConnections = connections
        }
        func timeout(_ flag: Double?, _ variable: String, _ key: String) throws -> Duration? {
            guard let seconds = try number(flag, variable, key, Double.self) else { return nil }
            guard seconds.isFinite, seconds >= 0.001, seconds <= 86_400 else {
                throw ValidationError("--\(key.replacingOccurrences(of: "_", with: "-")) must be a number of seconds from 0.001 to 86400, got \(seconds)")
            }
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        if let queue = try number(command.upstreamQueue, "LLMCACHE_UPSTREAM_QUEUE", "upstream_queue", Int.self) {
            guard (0...1_000_000).contains(queue) else { throw ValidationError("--upstream-queue must be from 0 to 1000000, got \(queue)") }
            configuration.upstream.queueLength = queue
        }
        if let queueTimeout = try timeout(command.upstreamQueueTimeout, "LLMCACHE_UPSTREAM_QUEUE_TIMEOUT", "upstream_queue_timeout") { configuration.upstream.queueTimeout = queueTimeout }
        if let headerTimeout = try timeout(command.headerTimeout, "LLMCACHE_HEADER_TIMEOUT", "header_timeout") { configuration.connections.headerTimeout = headerTimeout }
        if let bodyTimeout = try timeout(command.bodyTimeout, "LLMCACHE_BODY_TIMEOUT", "body_timeout") { configuration.connections.bodyTimeout = bodyTimeout }
        if let idleTimeout = try timeout(command.idleTimeout, "LLMCACHE_IDLE_TIMEOUT", "idle_timeout") { configuration.connections.idleTimeout = idleTimeout }
        if let connections = try number(command.maxConnections, "LLMCACHE_MAX_CONNECTIONS", "max_connections", Int.self) {
            guard (1...1_000_000).contains(connections) else { throw ValidationError("--max-connections must be from 1 to 1000000, got \(connections)") }
            configuration.connections.maximumConnections = connections
        }
        if let level = try text(command.logLevel, "LLMCACHE_LOG_LEVEL", "log_level") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else { throw ValidationError("unknown log level '\(level)'") }
            logLevel = parsed
        }
        if let prices = file["prices"] {
            configuration.prices = try Self.prices(prices)
        }
    }

    /// The semantic tier, or `nil` when semantic matching is off — or left
    /// to its default and the model is not installed (a warning says how to
    /// install it).
    func openSemanticTier(logger: Logger) throws -> SemanticCache? {
        guard semantic != false else { return nil }
        let directory: String
        do {
            directory = try ModelLocator().locate(explicit: modelDirectory)
        } catch let error as CacheError {
            if semantic == true { throw ValidationError("--semantic on: \(error.message)") }
            logger.warning("semantic matching is off: \(error.message)")
            return nil
        }
        let embedder = EmbeddingCache(try MiniLMEmbedder(directory: directory))
        var semanticConfiguration = SemanticCache.Configuration()
        semanticConfiguration.threshold = Float(configuration.semantic.threshold)
        semanticConfiguration.maximumIndexBytes = semanticMemoryBytes
        semanticConfiguration.maximumPendingEmbeddings = embedQueue
        return SemanticCache(embedder: embedder, configuration: semanticConfiguration, approximateIndex: { dimension in
            try HNSWIndex(dimension: dimension)
        })
    }

    static func readFile(_ path: String) throws -> [String: JSONValue] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("cannot read the config file \(path): \(error.localizedDescription)")
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: data)
        } catch let error as CacheError {
            throw ValidationError("the config file \(path) is not valid JSON: \(error.message)")
        }
        guard case .object(let fields) = value else { throw ValidationError("the config file \(path) must hold a JSON object") }
        if let unknown = fields.keys.filter({ !fileKeys.contains($0) }).sorted().first {
            throw ValidationError("the config file \(path) has the unknown key '\(unknown)'; known keys: \(fileKeys.sorted().joined(separator: ", "))")
        }
        return fields
    }

    /// Prices from `{"model": {"input_per_million": x, "output_per_million": y}}`
    /// (optionally `cached_input_per_million` and `cache_write_input_per_million`),
    /// added to (and overriding) the standard table.
    static func prices(_ value: JSONValue) throws -> PriceTable {
        guard case .object(let models) = value else { throw ValidationError("prices must be an object of model names to prices") }
        var table = PriceTable.standard
        for (model, price) in models {
            guard let input = price["input_per_million"]?.numberValue?.doubleValue, let output = price["output_per_million"]?.numberValue?.doubleValue, input >= 0, output >= 0 else {
                throw ValidationError("prices.\(model) must be {\"input_per_million\": dollars, \"output_per_million\": dollars}")
            }
            func optional(_ name: String) throws -> Double? {
                guard let value = price[name], value != .null else { return nil }
                guard let number = value.numberValue?.doubleValue, number >= 0 else {
                    throw ValidationError("prices.\(model).\(name) must be a number of dollars, 0 or more")
                }
                return number
            }
            table.prices[model] = PriceTable.Price(
                inputPerMillion: input, outputPerMillion: output,
                cachedInputPerMillion: try optional("cached_input_per_million"), cacheWriteInputPerMillion: try optional("cache_write_input_per_million")
            )
        }
        return table
    }
}
