import ArgumentParser
import Foundation
import LLMCache
import LLMCacheServer
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the OpenAI-compatible caching proxy.",
        discussion: """
            Point any OpenAI client's base URL at http://HOST:PORT/v1. Repeated requests are \
            answered from the cache (X-Cache: HIT); misses go to the upstream with the caller's \
            own Authorization header. Each API key gets its own namespace unless \
            --shared-namespace is given.

            Every option can also be set by an environment variable (shown with each option) \
            or in a JSON file given with --config, whose keys are the option names with \
            underscores (e.g. {"upstream": "http://127.0.0.1:8000/v1", "admin_token": "...", \
            "prices": {"gpt-4o": {"input_per_million": 2.5, "output_per_million": 10}}}). \
            Flags win over the environment, which wins over the file.

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

    @Option(help: "Where entries live: memory or sqlite:PATH. Env LLMCACHE_STORE. Default sqlite:./llm-cache.sqlite.")
    var store: String?

    @Option(help: "A shared Redis store, redis://HOST:PORT. Env LLMCACHE_REDIS. Not in this build yet: the Redis store ships separately.")
    var redis: String?

    @Option(help: "The bearer token of the admin API (/admin/...); without one the admin API is disabled. Env LLMCACHE_ADMIN_TOKEN.")
    var adminToken: String?

    @Option(help: "Put every caller's entries in this one namespace instead of one per API key. Only for deployments where all callers may see all answers. Env LLMCACHE_SHARED_NAMESPACE.")
    var sharedNamespace: String?

    @Option(help: "Semantic matching after an exact miss: on or off. Env LLMCACHE_SEMANTIC. Default off. Not served by the proxy yet: 'on' is accepted and logs a warning.")
    var semantic: String?

    @Option(help: "The least cosine similarity (0 < T <= 1) of a semantic match. Env LLMCACHE_THRESHOLD. Default 0.85, the semantic cache's default.")
    var threshold: Double?

    @Option(help: "Seconds an answer is kept unless the request sends X-Cache-TTL. Env LLMCACHE_TTL. Default 604800 (7 days).")
    var ttl: Int?

    @Option(help: "The largest request body accepted, in bytes; larger get 413. Env LLMCACHE_MAX_BODY_BYTES. Default 4194304 (4 MiB).")
    var maxBodyBytes: Int?

    @Option(help: "Seconds an upstream call may take in all, streams included. Env LLMCACHE_UPSTREAM_TIMEOUT. Default 600.")
    var upstreamTimeout: Double?

    @Option(help: "Seconds to establish an upstream connection. Env LLMCACHE_CONNECT_TIMEOUT. Default 10.")
    var connectTimeout: Double?

    @Option(help: "Upstream connections kept at most. Env LLMCACHE_UPSTREAM_CONNECTIONS. Default 64.")
    var upstreamConnections: Int?

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
        if settings.semantic {
            logger.warning("semantic caching is not in this build yet; serving exact matches only (X-Cache-Semantic headers are still validated)")
        }
        let store = try settings.store.openForServing()
        let host = settings.configuration.host
        let server = ProxyServer(
            configuration: settings.configuration,
            store: store,
            cacheConfiguration: LLMCache.Configuration(defaultTTL: settings.ttl),
            logger: logger,
            onListening: { port in
                // Unbuffered, so a parent process reading the pipe sees it at once.
                FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
            }
        )
        logger.info("serving", metadata: ["upstream": "\(settings.configuration.upstream.baseURL)", "store": "\(settings.store)", "tenancy": "\(settings.configuration.tenancy.sharedNamespace.map { "shared namespace \($0)" } ?? "one namespace per credential")", "admin": "\(settings.configuration.admin.token == nil ? "disabled" : "enabled")"])
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The serve settings after merging flags, environment and config file.
struct ServeSettings {
    var configuration = ProxyConfiguration()
    var store = StoreLocation.sqlite(path: "./llm-cache.sqlite")
    var ttl: Duration = .seconds(7 * 24 * 3600)
    var semantic = false
    var logLevel = Logger.Level.info

    static let fileKeys: Set<String> = [
        "host", "port", "upstream", "store", "redis", "admin_token", "shared_namespace", "semantic", "threshold", "ttl",
        "max_body_bytes", "upstream_timeout", "connect_timeout", "upstream_connections", "log_level", "prices",
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
        if let location = try text(command.store, "LLMCACHE_STORE", "store") { store = try StoreLocation(parsing: location) }
        if let redis = try text(command.redis, "LLMCACHE_REDIS", "redis") {
            // The Redis store (LLMCacheRedis) is built on its own branch; once it
            // lands, open it here and put it behind (or instead of) `store`.
            throw ValidationError("--redis \(redis): this build has no Redis store yet; use --store memory or --store sqlite:PATH")
        }
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
        configuration.semantic.enabled = semantic
        if let threshold = try number(command.threshold, "LLMCACHE_THRESHOLD", "threshold", Double.self) {
            guard threshold > 0, threshold <= 1 else { throw ValidationError("--threshold must be in (0, 1], got \(threshold)") }
            configuration.semantic.threshold = threshold
        }
        if let seconds = try number(command.ttl, "LLMCACHE_TTL", "ttl", Int.self) {
            guard seconds > 0 else { throw ValidationError("--ttl must be a positive number of seconds") }
            ttl = .seconds(seconds)
        }
        if let bytes = try number(command.maxBodyBytes, "LLMCACHE_MAX_BODY_BYTES", "max_body_bytes", Int.self) {
            guard bytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
            configuration.maximumRequestBytes = bytes
        }
        if let seconds = try number(command.upstreamTimeout, "LLMCACHE_UPSTREAM_TIMEOUT", "upstream_timeout", Double.self) {
            guard seconds > 0 else { throw ValidationError("--upstream-timeout must be positive") }
            configuration.upstream.requestTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let seconds = try number(command.connectTimeout, "LLMCACHE_CONNECT_TIMEOUT", "connect_timeout", Double.self) {
            guard seconds > 0 else { throw ValidationError("--connect-timeout must be positive") }
            configuration.upstream.connectTimeout = .milliseconds(Int64(seconds * 1000))
        }
        if let connections = try number(command.upstreamConnections, "LLMCACHE_UPSTREAM_CONNECTIONS", "upstream_connections", Int.self) {
            guard connections > 0 else { throw ValidationError("--upstream-connections must be positive") }
            configuration.upstream.maximumConnections = connections
        }
        if let level = try text(command.logLevel, "LLMCACHE_LOG_LEVEL", "log_level") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else { throw ValidationError("unknown log level '\(level)'") }
            logLevel = parsed
        }
        if let prices = file["prices"] {
            configuration.prices = try Self.prices(prices)
        }
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

    /// Prices from `{"model": {"input_per_million": x, "output_per_million": y}}`,
    /// added to (and overriding) the standard table.
    static func prices(_ value: JSONValue) throws -> PriceTable {
        guard case .object(let models) = value else { throw ValidationError("prices must be an object of model names to prices") }
        var table = PriceTable.standard
        for (model, price) in models {
            guard let input = price["input_per_million"]?.numberValue?.doubleValue, let output = price["output_per_million"]?.numberValue?.doubleValue, input >= 0, output >= 0 else {
                throw ValidationError("prices.\(model) must be {\"input_per_million\": dollars, \"output_per_million\": dollars}")
            }
            table.prices[model] = PriceTable.Price(inputPerMillion: input, outputPerMillion: output)
        }
        return table
    }
}
