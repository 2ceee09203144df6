import Foundation
import Logging
import Synchronization

/// Finds cached answers to requests that mean the same as the one asked: the
/// tier the ``LLMCache`` facade consults after an exact miss.
///
/// Each scope (see ``SemanticScope``) has its own vector index, so only requests
/// identical in everything but the matched text are candidates. A lookup embeds
/// the matched text, takes the most similar cached texts at or above the
/// threshold, and runs the verifiers on each in order; the first that passes and
/// whose entry the store still holds is the hit. The store is the source of
/// truth: a candidate whose entry is gone is dropped from the index and the next
/// one is tried.
///
/// Similarity is cosine in [-1, 1] everywhere. Thread-safe.
public final class SemanticCache: Sendable {
    /// Settings. Every default is stated on its property.
    public struct Configuration: Sendable {
        /// The least cosine similarity a candidate needs. Default 0.85, chosen
        /// with the default verifiers and ambiguity rule on the development
        /// data, where it meets the targets for false positives on hard minimal
        /// pairs and for precision and recall as a cache on Quora pairs
        /// (docs/SEMANTIC.md, "Why these defaults").
        public var threshold: Float
        /// How many of the most similar texts are tried. Default 5.
        public var candidates: Int
        /// How many of the last user turns are matched by meaning. Default 1.
        public var turns: Int
        /// Checks run on each candidate, in order. Default ``TextVerifiers/standard``.
        public var verifiers: [any SemanticVerifier]
        /// When two cached texts are about equally similar to the query,
        /// neither is served. Default ``Ambiguity/standard``.
        public var ambiguity: Ambiguity
        /// A scope switches from exact to approximate search past this many
        /// vectors, when an approximate index is available. Default 4096, where
        /// exact and approximate search cost the same on 384-d vectors; below
        /// it exact search is also exact, past it its time grows with the scope
        /// while HNSW's barely moves (docs/SEMANTIC.md, "Exact or approximate search").
        public var approximateSearchThreshold: Int
        /// How long embedding one text may take, waiting for the embedder
        /// included, before the lookup gives up on it and the request is
        /// answered by exact match only. Default `nil`, no limit of its own:
        /// the native model's work per text is bounded by its window (a
        /// fifth of a second on one core for the longest text it reads), and
        /// remote embedders have time limits of their own (`OpenAIEmbedder`:
        /// 30 seconds) whose errors, like any embedder error, leave the
        /// request to exact matching. Set it to bound the wait, queueing
        /// behind other requests' texts included, for instance on a proxy
        /// that should shed semantic lookups under overload.
        public var embeddingTimeout: Duration?
        /// The most bytes the index may hold, across scopes, as charged by
        /// ``SemanticCache/charge(textBytes:dimension:)`` (the vector, the
        /// graph's links and the record kept per entry). Default 128 MiB,
        /// about 45,000 entries of 384-d vectors with short texts; `nil` for
        /// no limit. Past it the least recently matched or indexed entries
        /// lose their vectors, a sixteenth of the budget at a time: their
        /// entries stay in the store and are still exact hits, only no longer
        /// matched by meaning (docs/SEMANTIC.md, "Memory").
        public var maximumIndexBytes: Int?
        /// The most texts this tier may have waiting for the embedder or
        /// being embedded at once. Past it a text is not embedded: its
        /// request is looked up and answered by exact key only, and its
        /// answer stored without a vector (an exact hit later, never matched
        /// by meaning), counted as ``CacheStatistics/semanticSkips``. Default
        /// `nil`, no limit, which suits remote embedders, where many requests
        /// wait on the network at once. With a native model on a few cores it
        /// bounds what semantic matching adds to a miss under a burst of
        /// distinct long prompts: each would otherwise wait behind every text
        /// queued before it (docs/SEMANTIC.md, "Under load"). `llm-cache
        /// serve` sets 4 per core (`--embed-queue`).
        public var maximumPendingEmbeddings: Int?

        public init(
            threshold: Float = 0.85,
            candidates: Int = 5,
            turns: Int = 1,
            verifiers: [any SemanticVerifier] = TextVerifiers.standard,
            ambiguity: Ambiguity = .standard,
            approximateSearchThreshold: Int = 4096,
            embeddingTimeout: Duration? = nil,
            maximumIndexBytes: Int? = 128 << 20,
            maximumPendingEmbeddings: Int? = nil
        ) {
            self.threshold = threshold
            self.candidates = candidates
            self.turns = turns
            self.verifiers = verifiers
            self.ambiguity = ambiguity
            self.approximateSearchThreshold = approximateSearchThreshold
            self.embeddingTimeout = embeddingTimeout
            self.maximumIndexBytes = maximumIndexBytes
            self.maximumPendingEmbeddings = maximumPendingEmbeddings
        }
    }

    /// The rule that turns a lookup into a miss when its best candidate barely
    /// leads the next.
    ///
    /// A query that sits about equally close to two different cached questions
    /// ("how do I learn Python quickly?" between "how do I learn Python?" and
    /// "how do I learn Python for data science?") is one whose meaning the
    /// embedding does not pin down, and serving either answer is a guess. So
    /// the best candidate that passes the verifiers is served only if it leads
    /// the next one that also passes them (and whose entry is live) by at
    /// least ``margin`` — or if it is at least ``decisiveSimilarity`` similar,
    /// close enough to be a rewording whatever else is near. Otherwise the
    /// lookup is a miss. A candidate alone in its scope is never ambiguous.
    public struct Ambiguity: Sendable, Equatable {
        /// How far, in cosine similarity, the served candidate must lead the
        /// next verified one. Default 0.04.
        public var margin: Float
        /// At or above this similarity a candidate is served however close the
        /// next one is. Default 0.95.
        public var decisiveSimilarity: Float

        public init(margin: Float, decisiveSimilarity: Float) {
            self.margin = margin
            self.decisiveSimilarity = decisiveSimilarity
        }

        /// Margin 0.04, decisive at 0.95: on the Quora development pairs this
        /// buys precision at a better price in recall than a higher threshold
        /// (docs/SEMANTIC.md, "Ambiguity: two close candidates are a miss").
        public static let standard = Ambiguity(margin: 0.04, decisiveSimilarity: 0.95)
        /// Serves the best verified candidate however close the next one is.
        public static let off = Ambiguity(margin: 0, decisiveSimilarity: -1)

        /// Whether a candidate at `similarity` needs to be compared with the
        /// next one at `next`.
        @inlinable
        public func contested(_ similarity: Float, by next: Float) -> Bool {
            similarity < decisiveSimilarity && similarity - next < margin
        }

        /// The candidate a lookup serves: the first of the first `tries` at or
        /// above `threshold` that `accepted` passes, unless the next one it
        /// passes is within the margin (then `nil`, a miss); `nil` too when
        /// none passes. ``SemanticCache/match(_:in:threshold:)`` and
        /// `llm-cache eval-semantic` both choose with it.
        ///
        /// - Parameters:
        ///   - candidates: most similar first, with no text identical to the
        ///     query, and when possible one more than `tries`, so the last one
        ///     tried has a rival.
        ///   - accepted: whether candidate `index` may be served (verifiers,
        ///     and for a cache, a live entry); asked at most once per candidate.
        public func choose(
            _ candidates: [(index: Int, similarity: Float)],
            threshold: Float,
            tries: Int = .max,
            accepted: (Int) async throws -> Bool
        ) async throws -> (index: Int, similarity: Float)? {
            var position = 0
            while position < min(candidates.count, tries) {
                let candidate = candidates[position]
                position += 1
                guard candidate.similarity >= threshold else { return nil }
                guard try await accepted(candidate.index) else { continue }
                while position < candidates.count, contested(candidate.similarity, by: candidates[position].similarity) {
                    let rival = candidates[position]
                    position += 1
                    if try await accepted(rival.index) { return nil }
                }
                return candidate
            }
            return nil
        }
    }

    /// A matched entry.
    public struct Match: Sendable {
        /// The entry served.
        public var entry: CacheEntry
        /// Its cosine similarity to the query.
        public var similarity: Float
    }

    /// What a lookup learned, reused to index the answer after a miss.
    public struct Probe: Sendable {
        public var scope: SemanticScope
        public var vector: [Float]
    }

    /// What the index holds and has dropped to stay within its budget.
    public struct IndexStatistics: Sendable, Equatable {
        /// Vectors indexed, across all scopes.
        public var entries: Int
        /// Bytes charged for them (see ``SemanticCache/charge(textBytes:dimension:)``).
        public var bytes: Int
        /// ``Configuration/maximumIndexBytes``; `nil` when unbounded.
        public var budgetBytes: Int?
        /// Vectors dropped to stay within the budget since creation (their
        /// entries stay in the store); removals that follow the store's own
        /// evictions and invalidations are not counted.
        public var evictions: Int
    }

    /// Metadata kept per indexed key, so invalidations by tag, pattern, age or
    /// namespace can drop vectors without reading the store.
    ///
    /// The full text stays: the verifiers compare numbers, negations,
    /// antonyms and names anywhere in it, so neither a hash nor a prefix would
    /// do. Namespace and model names are short enough to be stored inline by
    /// `String`, and tags are usually none, so the text is the only
    /// allocation a record adds.
    struct Indexed: Sendable {
        var scope: CacheKey
        var text: String
        var namespace: String
        var model: String
        var tags: [String]
        var createdAt: CacheTimestamp
        /// When the entry was last indexed or served: the budget evicts the
        /// smallest first.
        var recency: UInt64 = 0
        /// Its bytes against the budget.
        var charge: Int = 0
    }

    /// An answer whose vector ``index(_:)`` has yet to insert.
    struct Pending {
        var id: UInt64
        var indexed: Indexed
        var task: Task<Void, Never>
    }

    struct State: ~Copyable {
        var scopes: [CacheKey: any VectorIndex] = [:]
        var indexed: [CacheKey: Indexed] = [:]
        /// Insertions under way, by entry key; lookups in their scope wait for them.
        var pending: [CacheKey: Pending] = [:]
        var nextPending: UInt64 = 0
        /// Scopes whose approximate index is being built, off the lock.
        var converting: [CacheKey: Task<Void, Never>] = [:]
        /// Scopes whose approximate index could not be built: they stay exact.
        var exactOnly: Set<CacheKey> = []
        /// The sum of the indexed records' charges.
        var bytes = 0
        /// Vectors dropped for the budget.
        var evictions = 0
        /// The recency clock: one tick per insertion or served match.
        var tick: UInt64 = 0
    }

    public let configuration: Configuration
    /// The embedding model's identifier, recorded with every vector.
    public let embeddingModel: String
    /// The embedding dimension.
    public let dimension: Int
    private let embedText: @Sendable (String) async throws -> [Float]
    private let readsWhole: @Sendable (String) -> Bool
    private let makeApproximateIndex: (@Sendable (Int) throws -> any VectorIndex)?
    private let state = Mutex(State())
    /// Texts waiting for the embedder or being embedded, counted against
    /// ``Configuration/maximumPendingEmbeddings``.
    private let pendingEmbeddings = Atomic<Int>(0)
    private let refusedEmbeddings = Atomic<Int>(0)
    private let logger: Logger

    /// - Parameters:
    ///   - embeddingModel: identifies the model; vectors of other models are ignored.
    ///   - dimension: the length of its vectors.
    ///   - embedsWhole: whether the model reads all of a text (see
    ///     ``Embedder/embedsWhole(_:)``); texts it does not are neither
    ///     matched nor indexed. Default: every text.
    ///   - embed: embeds one text as an L2-normalised vector.
    ///   - approximateIndex: makes an approximate index of a dimension (such as
    ///     `HNSWIndex`) for scopes past ``Configuration/approximateSearchThreshold``;
    ///     `nil` keeps every scope on exact search.
    public init(
        embeddingModel: String,
        dimension: Int,
        configuration: Configuration = Configuration(),
        approximateIndex: (@Sendable (Int) throws -> any VectorIndex)? = nil,
        logger: Logger = Logger(label: "llm-cache.semantic"),
        embedsWhole: @escaping @Sendable (String) -> Bool = { _ in true },
        embed: @escaping @Sendable (String) async throws -> [Float]
    ) {
        self.embeddingModel = embeddingModel
        self.dimension = dimension
        self.configuration = configuration
        self.makeApproximateIndex = approximateIndex
        self.logger = logger
        self.readsWhole = embedsWhole
        self.embedText = embed
    }

    /// Texts refused since this tier was made because
    /// ``Configuration/maximumPendingEmbeddings`` were already pending.
    public var skippedEmbeddings: Int { refusedEmbeddings.load(ordering: .relaxed) }

    /// Vectors indexed, across all scopes.
    public var count: Int { state.withLock { $0.indexed.count } }

    /// The index's entries, bytes, budget and evictions.
    public var indexStatistics: IndexStatistics {
        state.withLock { s in
            IndexStatistics(entries: s.indexed.count, bytes: s.bytes, budgetBytes: configuration.maximumIndexBytes, evictions: s.evictions)
        }
    }

    /// The bytes one indexed entry is charged against
    /// ``Configuration/maximumIndexBytes``: its vector as 32-bit floats, its
    /// text when longer than `String` stores inline (15 bytes), and
    /// ``entryOverhead`` for the rest.
    public static func charge(textBytes: Int, dimension: Int) -> Int {
        dimension * MemoryLayout<Float>.size + (textBytes > 15 ? textBytes + 16 : 0) + entryOverhead
    }

    /// What an entry costs besides its vector and text: its HNSW links
    /// (hnswlib's 32 neighbours on the bottom layer and a few above), the
    /// key-to-label maps of the index and the record kept here, both
    /// dictionaries at their usual load, and the graph's spare capacity,
    /// which grows by half when full. Measured by `llm-cache bench memory`
    /// (`memory.semantic.bytes_per_entry`).
    public static let entryOverhead = 1280

    // MARK: Lookup

    /// Embeds the request's matched text; `nil` when it has none, or when
    /// the model would read only part of it (see ``scope(of:namespace:)``).
    public func probe(_ request: LLMRequest, namespace: String) async throws -> Probe? {
        guard let scope = scope(of: request, namespace: namespace) else { return nil }
        return try await probe(scope)
    }

    /// The scope and matched text of `request`, or `nil` when it has no text
    /// to match by meaning, or a text longer than the model reads
    /// (``Embedder/embedsWhole(_:)``). Such a request is answered and stored
    /// by exact match only, and never indexed: two long texts that agree on
    /// what the model reads and differ after it would get one vector, and be
    /// served each other's answers (docs/SEMANTIC.md, "Long texts").
    ///
    /// Embeds nothing: the length check reads a long text only as far as the
    /// model's window.
    public func scope(of request: LLMRequest, namespace: String) -> SemanticScope? {
        guard let scope = SemanticScope(request: request, namespace: namespace, turns: configuration.turns) else { return nil }
        return readsWhole(scope.text) ? scope : nil
    }

    /// Embeds `scope`'s text, giving up after ``Configuration/embeddingTimeout``.
    ///
    /// - Throws: the embedder's error, ``CacheError/Code/timeout`` when it
    ///   does not answer in time, or ``CacheError/Code/overloaded`` at once
    ///   when ``Configuration/maximumPendingEmbeddings`` texts are already
    ///   waiting or being embedded.
    public func probe(_ scope: SemanticScope) async throws -> Probe {
        if let limit = configuration.maximumPendingEmbeddings {
            guard admitEmbedding(limit: limit) else {
                refusedEmbeddings.add(1, ordering: .relaxed)
                throw CacheError(.overloaded, "\(limit) texts were already waiting for the embedder \(embeddingModel); answered by exact match only. Raise SemanticCache.Configuration.maximumPendingEmbeddings (llm-cache serve --embed-queue) to wait instead")
            }
            defer { pendingEmbeddings.subtract(1, ordering: .relaxed) }
            return try await embedProbe(scope)
        }
        return try await embedProbe(scope)
    }

    /// Counts one more pending text unless `limit` are pending already.
    private func admitEmbedding(limit: Int) -> Bool {
        var pending = pendingEmbeddings.load(ordering: .relaxed)
        while pending < limit {
            let (exchanged, original) = pendingEmbeddings.compareExchange(expected: pending, desired: pending + 1, ordering: .relaxed)
            if exchanged { return true }
            pending = original
        }
        return false
    }

    private func embedProbe(_ scope: SemanticScope) async throws -> Probe {
        let text = scope.text
        let vector: [Float]
        if let timeout = configuration.embeddingTimeout {
            let start = ContinuousClock.now
            do {
                vector = try await withDeadline(timeout) { [embedText] in try await embedText(text) }
            } catch let error as CacheError where error.code == .timeout && ContinuousClock.now - start >= timeout {
                // The deadline's own error speaks of the store; this one is the embedder's.
                throw CacheError(.timeout, "the embedder \(embeddingModel) did not answer within \(timeout); check its load, or raise SemanticCache.Configuration.embeddingTimeout")
            }
        } else {
            vector = try await embedText(text)
        }
        guard vector.count == dimension else {
            throw CacheError(.invalidConfiguration, "the embedder returned \(vector.count) dimensions where \(dimension) were configured")
        }
        return Probe(scope: scope, vector: vector)
    }

    /// Whether a lookup in `scope` could find anything: the scope has
    /// vectors, or answers on their way into it (``index(_:)``). When it has
    /// neither, a request's vector is needed only to index its answer, and
    /// can be computed while the answer is.
    public func mayMatch(in scope: SemanticScope) -> Bool {
        state.withLock { s in
            s.scopes[scope.key] != nil || s.pending.values.contains { $0.indexed.scope == scope.key }
        }
    }

    /// The best verified candidate for `probe` whose entry `store` still holds;
    /// `nil` when there is none, or when the next verified candidate is too
    /// close behind it (see ``Ambiguity``).
    ///
    /// - Parameter threshold: overrides the configured threshold for this lookup.
    public func match(_ probe: Probe, in store: any CacheStore, threshold: Float? = nil) async throws -> Match? {
        let minimum = threshold ?? configuration.threshold
        // Answers stored before this lookup began are candidates, even if
        // their insertion has not run yet.
        let inserting = state.withLock { s in
            s.pending.values.filter { $0.indexed.scope == probe.scope.key }.map(\.task)
        }
        for task in inserting { await task.value }
        // The indexes lock themselves: searching outside the cache's lock lets
        // lookups in any scopes run side by side with each other and with adds.
        guard let index = state.withLock({ $0.scopes[probe.scope.key] }) else { return nil }
        // One more than the candidates, so the last one tried has a rival to be compared with.
        let matches = index.search(probe.vector, k: configuration.candidates + 1)
        let found: [(VectorMatch, String)] = state.withLock { s in
            var texts = Set<String>()
            return matches.compactMap { match in
                // An identical text in the same scope is the same request: the
                // exact tier answers it, or its entry is gone.
                guard let indexed = s.indexed[match.key], indexed.text != probe.scope.text else { return nil }
                // Two entries with one text are answers to one request (the
                // sampling policy's variants): one candidate, not two rivals
                // that the ambiguity rule would refuse to choose between.
                guard texts.insert(indexed.text).inserted else { return nil }
                return (match, indexed.text)
            }
        }
        // A candidate is accepted when the verifiers pass it and the store
        // still holds its entry; a vector whose entry is gone is dropped.
        var entries: [Int: CacheEntry] = [:]
        let chosen = try await configuration.ambiguity.choose(
            found.enumerated().map { (index: $0.offset, similarity: $0.element.0.similarity) },
            threshold: minimum,
            tries: configuration.candidates
        ) { index in
            let (candidate, text) = found[index]
            guard try await verify(text, candidate.similarity, against: probe) else { return false }
            guard let entry = try await store.get(candidate.key) else {
                remove(candidate.key)
                return false
            }
            entries[index] = entry
            return true
        }
        guard let chosen, let entry = entries[chosen.index] else {
            if entries.count > 1 { logger.debug("semantic lookup ambiguous", metadata: ["candidates": "\(entries.count)"]) }
            return nil
        }
        // A served entry is the last the budget evicts.
        state.withLock { s in
            s.tick &+= 1
            s.indexed[found[chosen.index].0.key]?.recency = s.tick
        }
        return Match(entry: entry, similarity: chosen.similarity)
    }

    /// Whether every verifier accepts cached `text` for the probe's text.
    private func verify(_ text: String, _ similarity: Float, against probe: Probe) async throws -> Bool {
        for verifier in configuration.verifiers {
            let verdict = try await verifier.verify(query: probe.scope.text, candidate: text, similarity: similarity)
            if !verdict.accepted {
                logger.debug("semantic candidate rejected", metadata: ["verifier": "\(verifier.name)", "reason": "\(verdict.reason ?? "")"])
                return false
            }
        }
        return true
    }

    // MARK: Index maintenance

    /// The record to store with an answer so the index can be rebuilt from the store.
    public func record(for probe: Probe) -> SemanticRecord {
        SemanticRecord(scope: probe.scope.key, text: probe.scope.text, embeddingModel: embeddingModel, vector: probe.vector)
    }

    /// Indexes `entry` by its semantic record; entries without one, or with a
    /// vector of another model or dimension, are ignored.
    public func add(_ entry: CacheEntry) {
        guard let record = entry.semantic, record.embeddingModel == embeddingModel, record.vector.count == dimension else { return }
        let indexed = Indexed(scope: record.scope, text: record.text, namespace: entry.namespace, model: entry.model, tags: entry.tags, createdAt: entry.createdAt)
        state.withLock { s in
            s.pending[entry.key] = nil
            insert(record.vector, for: entry.key, indexed, &s)
        }
    }

    /// Indexes `entry` as ``add(_:)`` does, on a task of its own, so the
    /// caller (a request whose answer has just been stored) does not wait for
    /// the insertion; an approximate index takes a graph search to insert.
    ///
    /// A lookup that starts after this call returns waits for the insertion
    /// if it has not run yet: a stored answer is a candidate from the moment
    /// it is stored. ``remove(_:)`` or an invalidation that comes first
    /// cancels it. ``indexingSettled()`` waits for every insertion.
    public func index(_ entry: CacheEntry) {
        guard let record = entry.semantic, record.embeddingModel == embeddingModel, record.vector.count == dimension else { return }
        let indexed = Indexed(scope: record.scope, text: record.text, namespace: entry.namespace, model: entry.model, tags: entry.tags, createdAt: entry.createdAt)
        let key = entry.key
        state.withLock { s in
            let id = s.nextPending
            s.nextPending &+= 1
            // Created under the lock so that the pending record exists before
            // the task can look for it; the task takes the lock once this returns.
            let task = Task { [self] in
                state.withLock { s in
                    guard s.pending[key]?.id == id else { return }
                    s.pending[key] = nil
                    insert(record.vector, for: key, indexed, &s)
                }
            }
            s.pending[key] = Pending(id: id, indexed: indexed, task: task)
        }
    }

    private func insert(_ vector: [Float], for key: CacheKey, _ indexed: Indexed, _ s: inout State) {
        if let previous = s.indexed[key], previous.scope != indexed.scope {
            s.scopes[previous.scope]?.remove(key)
            if s.scopes[previous.scope]?.count == 0 { s.scopes[previous.scope] = nil }
        }
        let index = scopeIndex(indexed.scope, &s)
        do {
            try index.add(vector, for: key)
            var indexed = indexed
            s.tick &+= 1
            indexed.recency = s.tick
            indexed.charge = Self.charge(textBytes: indexed.text.utf8.count, dimension: dimension)
            s.bytes += indexed.charge - (s.indexed.updateValue(indexed, forKey: key)?.charge ?? 0)
            evictIfOverBudget(&s)
        } catch {
            logger.warning("a vector could not be indexed", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }

    /// Once the charged bytes pass ``Configuration/maximumIndexBytes``, drops
    /// the vectors of the least recently indexed or served entries until a
    /// sixteenth of the budget is free: a batch, so the sort it takes is paid
    /// once per many insertions rather than on each. The entries stay in the
    /// store, and exact hits.
    private func evictIfOverBudget(_ s: inout State) {
        guard let budget = configuration.maximumIndexBytes, s.bytes > budget else { return }
        let target = budget - budget / 16
        let oldest = s.indexed.map { (key: $0.key, recency: $0.value.recency) }.sorted { $0.recency < $1.recency }
        var evicted = 0
        for candidate in oldest {
            guard s.bytes > target else { break }
            guard let indexed = s.indexed.removeValue(forKey: candidate.key) else { continue }
            s.bytes -= indexed.charge
            s.scopes[indexed.scope]?.remove(candidate.key)
            if s.scopes[indexed.scope]?.count == 0 { s.scopes[indexed.scope] = nil }
            evicted += 1
        }
        s.evictions += evicted
        logger.debug("semantic index over its budget: vectors dropped", metadata: ["dropped": "\(evicted)", "budget_bytes": "\(budget)"])
    }

    /// Drops `key`'s vector; returns whether it was indexed.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        state.withLock { s in
            // An insertion not yet run would bring the vector back.
            s.pending[key] = nil
            guard let indexed = s.indexed.removeValue(forKey: key) else { return false }
            s.bytes -= indexed.charge
            s.scopes[indexed.scope]?.remove(key)
            if s.scopes[indexed.scope]?.count == 0 { s.scopes[indexed.scope] = nil }
            return true
        }
    }

    /// Drops the vectors of every entry `selector` matches.
    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) -> Int {
        let doomed: [CacheKey] = state.withLock { s in
            func matches(_ key: CacheKey, _ meta: Indexed) -> Bool {
                selector.matches(CacheEntry(key: key, value: Data(), namespace: meta.namespace, model: meta.model, tags: meta.tags, createdAt: meta.createdAt))
            }
            return s.indexed.compactMap { matches($0, $1) ? $0 : nil } + s.pending.compactMap { matches($0, $1.indexed) && s.indexed[$0] == nil ? $0 : nil }
        }
        for key in doomed { remove(key) }
        return doomed.count
    }

    /// Indexes every entry of `store` that carries a vector of this model.
    /// Returns how many were indexed. See ``rebuild(from:progress:)``.
    @discardableResult
    public func rebuild(from store: any CacheStore) async throws -> Int {
        try await rebuild(from: store) { _, _ in }
    }

    /// Indexes every entry of `store` that carries a vector of this model,
    /// reporting its progress. Returns how many were indexed.
    ///
    /// Safe to run while the cache serves: answers indexed meanwhile
    /// (``add(_:)``, ``index(_:)``) are kept, and an entry both stored and
    /// read by the rebuild is indexed once. Lookups made meanwhile see part
    /// of the store's vectors; a caller that must not answer from half an
    /// index looks up with ``LLMCache/SemanticControl/indexOnly`` until this
    /// returns, as the proxy does.
    ///
    /// - Parameter progress: called on the calling task after each entry read,
    ///   with the number of entries read so far and the number of those that
    ///   carried a vector.
    @discardableResult
    public func rebuild(
        from store: any CacheStore,
        progress: (_ scanned: Int, _ indexed: Int) -> Void
    ) async throws -> Int {
        var scanned = 0
        var added = 0
        for try await entry in store.entries() {
            scanned += 1
            if entry.semantic != nil {
                add(entry)
                added += 1
            }
            progress(scanned, added)
        }
        return added
    }

    /// Makes the index agree with `store`: indexes every entry that carries a
    /// vector (as ``rebuild(from:)`` does), then drops the vectors that were
    /// indexed before the call and whose entries the store no longer holds
    /// with one. Vectors added while it runs are kept. For a process that may
    /// have missed removals made by others, such as a follower of a shared
    /// store back from an outage.
    @discardableResult
    public func resynchronize(with store: any CacheStore) async throws -> (indexed: Int, dropped: Int) {
        let before = state.withLock { Set($0.indexed.keys) }
        var seen = Set<CacheKey>()
        for try await entry in store.entries() where entry.semantic != nil {
            add(entry)
            seen.insert(entry.key)
        }
        var dropped = 0
        for key in before.subtracting(seen) where remove(key) {
            dropped += 1
        }
        return (seen.count, dropped)
    }

    /// Keeps the index in step with evictions, expirations and invalidations
    /// published by `store`, until the returned task is cancelled.
    public func follow(_ store: any CacheStore) -> Task<Void, Never> {
        let events = store.events.subscribe(bufferSize: 4096)
        return Task { [weak self] in
            for await event in events {
                guard let self else { return }
                switch event {
                case .evicted(let key), .expired(let key): self.remove(key)
                case .invalidated(let selector, _): self.invalidate(selector)
                case .rejected: break
                }
            }
        }
    }

    /// Returns when every answer passed to ``index(_:)`` so far is indexed
    /// and every scope that has outgrown exact search has its approximate
    /// index in place: for benchmarks and tests, which want to measure or
    /// check the index a scope ends up with.
    public func indexingSettled() async {
        while true {
            let pending = state.withLock { Array($0.converting.values) + $0.pending.values.map(\.task) }
            if pending.isEmpty { return }
            for task in pending { await task.value }
        }
    }

    /// The scope's index, created on first use. A scope that outgrows exact
    /// search gets its approximate index built in the background while the
    /// exact one keeps serving (building takes seconds at a few thousand
    /// vectors, and must hold up no lookup).
    private func scopeIndex(_ scope: CacheKey, _ s: inout State) -> any VectorIndex {
        guard let index = s.scopes[scope] else {
            let fresh = FlatIndex(dimension: dimension)
            s.scopes[scope] = fresh
            return fresh
        }
        if index is FlatIndex, index.count >= configuration.approximateSearchThreshold, let make = makeApproximateIndex,
           s.converting[scope] == nil, !s.exactOnly.contains(scope) {
            s.converting[scope] = Task.detached(priority: .utility) { [self] in
                convert(scope, from: index, make: make)
            }
        }
        return index
    }

    /// Builds `scope`'s approximate index from `exact`, then swaps it in,
    /// catching up with the adds and removes `exact` took meanwhile.
    private func convert(_ scope: CacheKey, from exact: any VectorIndex, make: @Sendable (Int) throws -> any VectorIndex) {
        do {
            let approximate = try make(dimension)
            for key in exact.keys {
                if let vector = exact.vector(for: key) { try approximate.add(vector, for: key) }
            }
            try state.withLock { s in
                defer { s.converting[scope] = nil }
                // Emptied (and dropped) while building: nothing to swap.
                guard let current = s.scopes[scope], current === exact else { return }
                let live = Set(exact.keys)
                for key in approximate.keys where !live.contains(key) { approximate.remove(key) }
                for key in live where !approximate.contains(key) {
                    if let vector = exact.vector(for: key) { try approximate.add(vector, for: key) }
                }
                s.scopes[scope] = approximate
            }
        } catch {
            logger.warning("staying on exact search for a scope", metadata: ["error": "\(error)"])
            state.withLock { s in
                s.converting[scope] = nil
                s.exactOnly.insert(scope)
            }
        }
    }
}

extension SemanticCache {
    /// A semantic tier over `embedder`.
    public convenience init(
        embedder: any Embedder,
        configuration: Configuration = Configuration(),
        approximateIndex: (@Sendable (Int) throws -> any VectorIndex)? = nil
    ) {
        self.init(
            embeddingModel: embedder.modelIdentifier, dimension: embedder.dimension, configuration: configuration, approximateIndex: approximateIndex,
            embedsWhole: { embedder.embedsWhole($0) }
        ) { text in
            try await embedder.embed(text)
        }
    }
}
