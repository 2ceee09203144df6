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

        public init(
            threshold: Float = 0.85,
            candidates: Int = 5,
            turns: Int = 1,
            verifiers: [any SemanticVerifier] = TextVerifiers.standard,
            ambiguity: Ambiguity = .standard,
            approximateSearchThreshold: Int = 4096
        ) {
            self.threshold = threshold
            self.candidates = candidates
            self.turns = turns
            self.verifiers = verifiers
            self.ambiguity = ambiguity
            self.approximateSearchThreshold = approximateSearchThreshold
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

    /// Metadata kept per indexed key, so invalidations by tag, pattern, age or
    /// namespace can drop vectors without reading the store.
    struct Indexed: Sendable {
        var scope: CacheKey
        var text: String
        var namespace: String
        var model: String
        var tags: [String]
        var createdAt: CacheTimestamp
    }

    struct State: ~Copyable {
        var scopes: [CacheKey: any VectorIndex] = [:]
        var indexed: [CacheKey: Indexed] = [:]
        /// Scopes whose approximate index is being built, off the lock.
        var converting: [CacheKey: Task<Void, Never>] = [:]
        /// Scopes whose approximate index could not be built: they stay exact.
        var exactOnly: Set<CacheKey> = []
    }

    public let configuration: Configuration
    /// The embedding model's identifier, recorded with every vector.
    public let embeddingModel: String
    /// The embedding dimension.
    public let dimension: Int
    private let embedText: @Sendable (String) async throws -> [Float]
    private let makeApproximateIndex: (@Sendable (Int) throws -> any VectorIndex)?
    private let state = Mutex(State())
    private let logger: Logger

    /// - Parameters:
    ///   - embeddingModel: identifies the model; vectors of other models are ignored.
    ///   - dimension: the length of its vectors.
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
        embed: @escaping @Sendable (String) async throws -> [Float]
    ) {
        self.embeddingModel = embeddingModel
        self.dimension = dimension
        self.configuration = configuration
        self.makeApproximateIndex = approximateIndex
        self.logger = logger
        self.embedText = embed
    }

    /// Vectors indexed, across all scopes.
    public var count: Int { state.withLock { $0.indexed.count } }

    // MARK: Lookup

    /// Embeds the request's matched text; `nil` when it has none.
    public func probe(_ request: LLMRequest, namespace: String) async throws -> Probe? {
        guard let scope = SemanticScope(request: request, namespace: namespace, turns: configuration.turns) else { return nil }
        let vector = try await embedText(scope.text)
        guard vector.count == dimension else {
            throw CacheError(.invalidConfiguration, "the embedder returned \(vector.count) dimensions where \(dimension) were configured")
        }
        return Probe(scope: scope, vector: vector)
    }

    /// The best verified candidate for `probe` whose entry `store` still holds;
    /// `nil` when there is none, or when the next verified candidate is too
    /// close behind it (see ``Ambiguity``).
    ///
    /// - Parameter threshold: overrides the configured threshold for this lookup.
    public func match(_ probe: Probe, in store: any CacheStore, threshold: Float? = nil) async throws -> Match? {
        let minimum = threshold ?? configuration.threshold
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
            if let previous = s.indexed[entry.key], previous.scope != record.scope {
                s.scopes[previous.scope]?.remove(entry.key)
            }
            let index = scopeIndex(record.scope, &s)
            do {
                try index.add(record.vector, for: entry.key)
                s.indexed[entry.key] = indexed
            } catch {
                logger.warning("a vector could not be indexed", metadata: ["key": "\(entry.key)", "error": "\(error)"])
            }
        }
    }

    /// Drops `key`'s vector; returns whether it was indexed.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        state.withLock { s in
            guard let indexed = s.indexed.removeValue(forKey: key) else { return false }
            s.scopes[indexed.scope]?.remove(key)
            if s.scopes[indexed.scope]?.count == 0 { s.scopes[indexed.scope] = nil }
            return true
        }
    }

    /// Drops the vectors of every entry `selector` matches.
    @discardableResult
    public func invalidate(_ selector: InvalidationSelector) -> Int {
        let doomed: [CacheKey] = state.withLock { s in
            s.indexed.compactMap { key, meta in
                let probe = CacheEntry(key: key, value: Data(), namespace: meta.namespace, model: meta.model, tags: meta.tags, createdAt: meta.createdAt)
                return selector.matches(probe) ? key : nil
            }
        }
        for key in doomed { remove(key) }
        return doomed.count
    }

    /// Indexes every entry of `store` that carries a vector of this model.
    /// Returns how many were indexed.
    @discardableResult
    public func rebuild(from store: any CacheStore) async throws -> Int {
        var added = 0
        for try await entry in store.entries() where entry.semantic != nil {
            add(entry)
            added += 1
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

    /// Returns when every scope that has outgrown exact search has its
    /// approximate index in place: for benchmarks and tests, which want to
    /// measure or check the index a scope ends up with.
    public func indexingSettled() async {
        while true {
            let pending = state.withLock { Array($0.converting.values) }
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
        self.init(embeddingModel: embedder.modelIdentifier, dimension: embedder.dimension, configuration: configuration, approximateIndex: approximateIndex) { text in
            try await embedder.embed(text)
        }
    }
}
