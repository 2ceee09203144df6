import Foundation

extension LLMCache {
    /// The key `request` is stored under in `namespace` (default: the
    /// configured one), before the sampling policy picks a variant of it.
    public func key(for request: LLMRequest, namespace: String? = nil) -> CacheKey {
        fingerprint.key(for: request, namespace: namespace ?? configuration.namespace)
    }

    // MARK: - The one path

    /// Returns the cached answer to `request`, or computes it with `compute`,
    /// stores it and returns it.
    ///
    /// In order: the sampling policy (a skipped request is computed and
    /// neither looked up nor stored; a sampled one under
    /// ``SamplingPolicy/variants(_:)`` is looked up and stored under its next
    /// variant key); the exact key; the semantic tier, when the cache has one
    /// and `options.semantic` is not ``SemanticControl/off`` (the request is
    /// embedded once, and the same vector indexes the answer after a miss;
    /// when its scope holds nothing to match, the embedding runs while the
    /// answer is computed, as it does for ``SemanticControl/indexOnly``, which
    /// indexes the answer without looking up by meaning; a call with
    /// ``SemanticControl/off``, or whose text is longer than the model reads,
    /// is neither embedded nor indexed);
    /// then single-flight: concurrent calls that miss on the same key share
    /// one run of `compute`, whose result (or error) reaches them all. Errors
    /// are never cached. Cancelling a caller ends only that caller's wait; the
    /// run completes and is stored for the others. When several callers share
    /// a run, the options of the one that started it decide TTL and tags.
    ///
    /// `compute` learns the key and source the call will report before it
    /// returns, so that it can tell its own caller (see ``Computation``).
    public func response(
        for request: LLMRequest,
        options: Options = Options(),
        computing compute: @escaping @Sendable (Computation) async throws -> Data
    ) async throws -> Response {
        try await response(for: request, key: nil, options: options, computing: compute)
    }

    /// ``response(for:options:computing:)`` for a computation that needs to
    /// know nothing of the call.
    public func response(
        for request: LLMRequest,
        options: Options = Options(),
        compute: @escaping @Sendable () async throws -> Data
    ) async throws -> Response {
        try await response(for: request, key: nil, options: options) { _ in try await compute() }
    }

    /// ``response(for:options:computing:)`` for a caller that already has the
    /// request's key, such as the proxy, which remembers the keys of bodies it
    /// saw recently.
    ///
    /// - Precondition: `key`, when given, is `key(for: request, namespace: options.namespace)`.
    package func response(
        for request: LLMRequest,
        key: CacheKey?,
        options: Options,
        computing compute: @escaping @Sendable (Computation) async throws -> Data
    ) async throws -> Response {
        let namespace = options.namespace ?? configuration.namespace
        let base = key ?? fingerprint.key(for: request, namespace: namespace)
        var slot = Slot(key: base, namespace: namespace, model: request.model, options: options)
        guard let planned = plannedKey(for: request, key: base, advancing: true) else {
            return try await bypass(slot, compute: compute)
        }
        slot.key = planned
        // The common case, an exact hit, returns here: `resolve`'s larger
        // async frame is then never allocated (a proxy hit spends measurably
        // less time in the task allocator).
        if options.lookup, let hit = await lookup(key: planned, maxAge: options.maxAge, countingMiss: false) {
            return hit
        }
        return try await resolve(slot, request: request, exactTried: options.lookup, compute: compute)
    }

    // MARK: - Answers produced elsewhere

    /// The cached answer to `request`, or `nil`. Counts a hit, a miss, or —
    /// when the sampling policy skips the request — a bypass.
    ///
    /// Tries the exact key first (under ``SamplingPolicy/variants(_:)``, the
    /// request's next variant key), then the semantic tier as
    /// ``response(for:options:computing:)`` does. For an answer produced where
    /// the cache cannot run the computation itself; pair it with
    /// ``store(_:for:options:computeDuration:)``. Prefer
    /// ``response(for:options:computing:)``, which also shares one computation
    /// among concurrent callers and embeds the request once instead of twice.
    public func lookup(_ request: LLMRequest, options: Options = Options()) async -> Response? {
        let namespace = options.namespace ?? configuration.namespace
        let base = fingerprint.key(for: request, namespace: namespace)
        guard let key = plannedKey(for: request, key: base, advancing: true) else {
            counters.bypass()
            return nil
        }
        if let hit = await lookup(key: key, maxAge: options.maxAge, countingMiss: false) { return hit }
        if let semantic, options.semantic != .off, options.semantic != .indexOnly,
           let scope = semantic.scope(of: request, namespace: namespace), semantic.mayMatch(in: scope),
           let probe = await embedding(scope, semantic) {
            let slot = Slot(key: key, namespace: namespace, model: request.model, options: options)
            if let hit = await semanticLookup(probe, semantic: semantic, slot: slot) { return hit }
        }
        counters.miss()
        return nil
    }

    /// Stores `value` as the answer to `request`, indexing it for the semantic
    /// tier when the cache has one and `options.semantic` is not
    /// ``SemanticControl/off``.
    ///
    /// The sampling policy applies: a request it skips is not stored (the
    /// result is ``CacheError/Code/bypassed``), and under
    /// ``SamplingPolicy/variants(_:)`` the answer goes to the variant key the
    /// last ``lookup(_:options:)`` of the request tried.
    ///
    /// - Returns: why it was not stored (skipped by the policy, too large,
    ///   store failure), or `nil` when it was.
    @discardableResult
    public func store(
        _ value: Data,
        for request: LLMRequest,
        options: Options = Options(),
        computeDuration: Duration = .zero
    ) async -> CacheError? {
        let namespace = options.namespace ?? configuration.namespace
        let base = fingerprint.key(for: request, namespace: namespace)
        guard let key = plannedKey(for: request, key: base, advancing: false) else {
            return CacheError(.bypassed, "not stored: the sampling policy (\(configuration.sampling)) skips requests at temperature \(SamplingPolicy.temperature(of: request))")
        }
        var slot = Slot(key: key, namespace: namespace, model: request.model, options: options)
        if let semantic, options.semantic != .off, let scope = semantic.scope(of: request, namespace: namespace),
           let probe = await embedding(scope, semantic) {
            slot.semantic = semantic.record(for: probe)
        }
        return await write(value, slot: slot, computeDuration: computeDuration)
    }

    // MARK: - The machinery shared by requests and memoization

    /// The key the sampling policy puts `request` under, or `nil` when it
    /// skips the request. `advancing` moves a variant rotation on (a lookup);
    /// without it the key is the one the last lookup used (a store).
    func plannedKey(for request: LLMRequest, key: CacheKey, advancing: Bool) -> CacheKey? {
        switch configuration.sampling.mode {
        case .cacheAll:
            return key
        case .skipAbove(let limit):
            return SamplingPolicy.temperature(of: request) > limit ? nil : key
        case .variants(let count):
            guard count > 1, SamplingPolicy.temperature(of: request) > 0 else { return key }
            let variant = advancing ? rotation.next(for: key, count: count) : rotation.current(for: key, count: count)
            return key.variant(variant)
        }
    }

    /// Lookup, semantic tier, single-flight, compute and store for `slot`,
    /// whose key the sampling policy has already chosen. `request` is `nil`
    /// for memoized functions, which have no semantic tier. `exactTried`:
    /// the caller has already looked the key up and missed.
    func resolve(
        _ slot: Slot,
        request: LLMRequest?,
        exactTried: Bool = false,
        compute: @escaping @Sendable (Computation) async throws -> Data
    ) async throws -> Response {
        let options = slot.options
        guard options.lookup || options.store else { return try await bypass(slot, compute: compute) }
        if options.lookup, !exactTried, let hit = await lookup(key: slot.key, maxAge: options.maxAge, countingMiss: false) {
            return hit
        }
        var slot = slot
        // The vector of an answer whose lookup cannot use it, computed beside
        // the answer rather than before it.
        var indexing: Task<SemanticRecord?, Never>?
        if let semantic, let request, options.semantic != .off,
           let scope = semantic.scope(of: request, namespace: slot.namespace) {
            if options.lookup, options.semantic != .indexOnly, semantic.mayMatch(in: scope) {
                // One embedding serves both the lookup and the index entry of the answer.
                if let probe = await embedding(scope, semantic) {
                    if let hit = await semanticLookup(probe, semantic: semantic, slot: slot) {
                        return hit
                    }
                    if options.store { slot.semantic = semantic.record(for: probe) }
                }
            } else if options.store {
                indexing = Task { [self] in await embedding(scope, semantic).map(semantic.record(for:)) }
            }
        }
        counters.miss()
        let computation = Computation(key: slot.key, source: .miss, stores: options.store)
        let (outcome, shared) = try await flights.run(slot.key) { [self, slot, indexing] in
            var slot = slot
            let start = ContinuousClock.now
            let value: Data
            do {
                value = try await compute(computation)
            } catch {
                indexing?.cancel()
                throw error
            }
            let duration = ContinuousClock.now - start
            counters.computed(duration)
            // Stored with its record, so that the index can be rebuilt from the store.
            if let indexing { slot.semantic = await indexing.value }
            let storeError = slot.options.store ? await write(value, slot: slot, computeDuration: duration) : nil
            return Outcome(value: value, duration: duration, storeError: storeError)
        }
        // Another caller's run answered: this one's vector would index nothing.
        if shared { indexing?.cancel() }
        if shared { counters.shared.add(1, ordering: .relaxed) }
        return Response(
            value: outcome.value, source: .miss, key: slot.key, age: .zero,
            computeDuration: outcome.duration, storeError: outcome.storeError, shared: shared
        )
    }

    /// Computes without looking up or storing. Not single-flight: a caller who
    /// skips the cache on purpose wants an answer of its own.
    func bypass(_ slot: Slot, compute: @escaping @Sendable (Computation) async throws -> Data) async throws -> Response {
        counters.bypass()
        let start = ContinuousClock.now
        let value = try await compute(Computation(key: slot.key, source: .bypass, stores: false))
        let duration = ContinuousClock.now - start
        counters.computed(duration)
        return Response(value: value, source: .bypass, key: slot.key, age: .zero, computeDuration: duration, storeError: nil, shared: false)
    }

    func lookup(key: CacheKey, maxAge: Duration?, countingMiss: Bool = true) async -> Response? {
        guard let entry = await guarded("get", { [store] in try await store.get(key) }) else {
            if countingMiss { counters.miss() }
            return nil
        }
        let age = clock.now() - entry.createdAt
        if let maxAge, age > maxAge {
            if countingMiss { counters.miss() }
            return nil
        }
        let value: Data
        do {
            value = try Compression.decode(entry.value, encoding: entry.encoding, rawSize: entry.rawSize)
        } catch {
            // A damaged entry would fail the same way every time: drop it so the
            // next caller recomputes and stores a good one.
            logger.warning("dropping an undecodable cache entry", metadata: ["key": "\(key)", "error": "\(error)"])
            counters.storeError(operation: "decode")
            _ = await guarded("delete") { [store] in try await store.delete(key) }
            if countingMiss { counters.miss() }
            return nil
        }
        counters.hit(saved: entry.computeDuration)
        return Response(value: value, source: .hit, key: key, age: max(.zero, age), computeDuration: entry.computeDuration, storeError: nil, shared: false)
    }

    func semanticLookup(_ probe: SemanticCache.Probe, semantic: SemanticCache, slot: Slot) async -> Response? {
        let threshold: Float? = if case .threshold(let t) = slot.options.semantic { t } else { nil }
        let store = store
        guard let match = await guarded("semantic", { try await semantic.match(probe, in: store, threshold: threshold) }) else { return nil }
        let entry = match.entry
        let age = clock.now() - entry.createdAt
        if let maxAge = slot.options.maxAge, age > maxAge { return nil }
        guard let value = try? Compression.decode(entry.value, encoding: entry.encoding, rawSize: entry.rawSize) else { return nil }
        counters.semanticHit(saved: entry.computeDuration)
        return Response(
            value: value, source: .semanticHit(similarity: match.similarity, matched: entry.key), key: slot.key,
            age: max(.zero, age), computeDuration: entry.computeDuration, storeError: nil, shared: false
        )
    }

    func write(_ value: Data, slot: Slot, computeDuration: Duration) async -> CacheError? {
        let now = clock.now()
        let (bytes, encoding) = configuration.compression.encode(value)
        let ttl = slot.options.ttl ?? configuration.defaultTTL
        let entry = CacheEntry(
            key: slot.key, value: bytes, encoding: encoding, rawSize: value.count,
            namespace: slot.namespace, model: slot.model, tags: slot.options.tags,
            createdAt: now, expiresAt: ttl.map { now + $0 }, computeDuration: computeDuration,
            semantic: slot.semantic
        )
        do {
            try await withStoreTimeout { [store] in try await store.set(entry) }
            health.succeeded(reachable: store.isBackendReachable)
            // Indexed on a task of its own: the caller has its answer, and a
            // later lookup waits for the insertion if it must.
            semantic?.index(entry)
            return nil
        } catch let error as CacheError where error.code == .entryTooLarge {
            counters.rejectedEntry()
            logger.notice("answer not cached: too large", metadata: ["key": "\(slot.key)", "error": "\(error.message)"])
            return error
        } catch {
            counters.storeError(operation: "set")
            health.failed(operation: "set", error: error)
            return error as? CacheError ?? CacheError(.backendUnavailable, "\(error)")
        }
    }

    /// `scope`'s vector, or `nil` when the embedder fails or does not answer
    /// within the semantic tier's ``SemanticCache/Configuration/embeddingTimeout``:
    /// the request is then answered by exact match only (fail open). The
    /// embedder is not the store, so this is neither under the store's time
    /// limit nor counted as a store error.
    func embedding(_ scope: SemanticScope, _ semantic: SemanticCache) async -> SemanticCache.Probe? {
        do {
            return try await semantic.probe(scope)
        } catch let error as CacheError where error.code == .overloaded {
            // Expected under a burst, and counted: a warning per request would flood the log.
            counters.semanticSkip()
            return nil
        } catch {
            logger.warning("semantic embedding failed; answered by exact match only", metadata: ["operation": "embed", "model": "\(semantic.embeddingModel)", "error": "\(error)"])
            return nil
        }
    }

    /// Runs a store operation; a failure or time-out becomes `nil` and a
    /// metric (fail open), and tells the store's health, which logs once when
    /// an outage begins and once when it ends rather than once per call.
    func guarded<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () async throws -> T?) async -> T? {
        do {
            let result = try await withStoreTimeout(body)
            health.succeeded(reachable: store.isBackendReachable)
            return result
        } catch {
            counters.storeError(operation: operation)
            health.failed(operation: operation, error: error)
            return nil
        }
    }

    func withStoreTimeout<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let timeout = configuration.storeTimeout, !store.isLocal else { return try await body() }
        return try await withDeadline(timeout, body)
    }
}
