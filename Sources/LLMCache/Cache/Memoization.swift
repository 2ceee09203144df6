import Foundation

extension LLMCache {
    /// Wraps an async throwing function so that calls with equal arguments are
    /// answered from the cache for `ttl`.
    ///
    /// ```swift
    /// let forecast = cache.memoize("forecast", ttl: .seconds(600)) { (city: String, days: Int) in
    ///     try await weatherService.forecast(city: city, days: days)
    /// }
    /// let a = try await forecast("Oslo", 3)   // computes
    /// let b = try await forecast("Oslo", 3)   // from the cache
    /// ```
    ///
    /// Arguments and result must be `Codable`: the key is the `name` plus the
    /// canonical JSON of the arguments, and the result is stored as JSON. Concurrent
    /// calls with equal arguments share one run (single-flight); errors are not
    /// cached. A stored result that no longer decodes as `Result` (the type
    /// changed) is recomputed. Works with any ``CacheStore``: with a shared
    /// store, one process computes and the others read.
    ///
    /// - Parameters:
    ///   - name: identifies the function; change it when its meaning changes.
    ///   - ttl: how long results live; `nil` uses the cache's default TTL.
    ///   - tags: tags on every stored result, for invalidation.
    ///   - namespace: the namespace; `nil` uses the cache's.
    public func memoize<each Argument: Encodable & Sendable, Result: Codable & Sendable>(
        _ name: String,
        ttl: Duration? = nil,
        tags: [String] = [],
        namespace: String? = nil,
        _ function: @escaping @Sendable (repeat each Argument) async throws -> Result
    ) -> @Sendable (repeat each Argument) async throws -> Result {
        let options = Options(namespace: namespace, ttl: ttl, tags: tags)
        return { [self] (arguments: repeat each Argument) async throws -> Result in
            var encoded: [JSONValue] = []
            for argument in repeat each arguments {
                encoded.append(try Self.jsonValue(of: argument, function: name))
            }
            return try await memoized(name, arguments: .array(encoded), options: options) {
                try await function(repeat each arguments)
            }
        }
    }

    /// One memoized call: look up `arguments` under `name`, or run `compute`.
    public func memoized<Result: Codable & Sendable>(
        _ name: String,
        arguments: JSONValue,
        options: Options = Options(),
        compute: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let namespace = options.namespace ?? configuration.namespace
        let key = fingerprint.key(function: name, arguments: arguments, namespace: namespace)
        let slot = Slot(key: key, namespace: namespace, model: "", options: options)
        let response = try await resolve(slot, request: nil) { _ in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(try await compute())
        }
        do {
            return try JSONDecoder().decode(Result.self, from: response.value)
        } catch {
            guard response.source == .hit else { throw error }
            // The stored JSON no longer fits `Result` (its type changed): replace it.
            logger.notice("memoized result no longer decodes; recomputing", metadata: ["function": "\(name)", "error": "\(error)"])
            var refresh = options
            refresh.lookup = false
            return try await memoized(name, arguments: arguments, options: refresh, compute: compute)
        }
    }

    static func jsonValue<T: Encodable>(of value: T, function: String) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .throw
        do {
            return try JSONValue(parsing: try encoder.encode(value))
        } catch {
            throw CacheError(.invalidArgument, "an argument of memoized function '\(function)' cannot be encoded as JSON: \(error)")
        }
    }
}
