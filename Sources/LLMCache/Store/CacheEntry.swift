import Foundation

/// How an entry's ``CacheEntry/value`` bytes are encoded.
public struct ValueEncoding: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The stable name persisted by stores: `"identity"` or `"zstd"`.
    public let name: String

    private init(_ name: String) { self.name = name }

    /// Stored as given.
    public static let identity = ValueEncoding("identity")
    /// Compressed with zstd (see ``Compression``).
    public static let zstd = ValueEncoding("zstd")

    /// Reads a persisted name; `nil` for a name this version does not know.
    public init?(name: String) {
        switch name {
        case "identity": self = .identity
        case "zstd": self = .zstd
        default: return nil
        }
    }

    public var description: String { name }
}

/// What the semantic index needs to rebuild itself from a store: the scope the
/// entry may be matched in, the text that was embedded, and its vector.
public struct SemanticRecord: Hashable, Sendable, Codable {
    /// Hash of everything that must be identical for two requests to be
    /// candidates of each other (model, parameters, tools, system prompt, earlier
    /// turns, namespace).
    public var scope: CacheKey
    /// The text matched by meaning (by default the last user turn).
    public var text: String
    /// Identifier of the embedding model; vectors of different models never mix.
    public var embeddingModel: String
    /// The L2-normalised embedding of ``text``.
    public var vector: [Float]

    public init(scope: CacheKey, text: String, embeddingModel: String, vector: [Float]) {
        self.scope = scope
        self.text = text
        self.embeddingModel = embeddingModel
        self.vector = vector
    }
}

/// One cached value with everything a store needs to expire, tag, invalidate,
/// account for and (optionally) semantically index it.
///
/// A value type with copy-on-write storage, like `Array`: copying an entry (as
/// every cache hit does when it returns one) costs one reference count, not a
/// copy of its dozen fields, and reading a copy touches one allocation. Safe to
/// share across tasks.
public struct CacheEntry: Hashable, Sendable {
    /// The fields, shared between copies until one of them is changed.
    ///
    /// `@unchecked Sendable`: the fields are only written through
    /// ``CacheEntry/mutableStorage``, which first copies the storage unless this
    /// entry is its only owner, so storage that another copy (or task) can see is
    /// never written.
    @usableFromInline
    final class Storage: @unchecked Sendable {
        // The key and expiry first: a memory store's hit reads only these, and
        // they lie within the object's first 64 bytes, beside its reference
        // count (one cache line, or two adjacent ones: allocations are only
        // 16-byte aligned).
        var key: CacheKey
        // Unchecked: storage is written only when uniquely referenced, so no read
        // can overlap a write, and the run-time check was a hit's one library call.
        @exclusivity(unchecked) @usableFromInline var expiresAt: CacheTimestamp?
        var value: Data
        var encoding: ValueEncoding
        var rawSize: Int
        var namespace: String
        var model: String
        var tags: [String]
        var createdAt: CacheTimestamp
        var computeDuration: Duration
        /// Behind a reference of its own: most entries have none, and inline it
        /// would be 80 of the storage's bytes (a 256-byte allocation instead of
        /// 192) in every entry.
        private var semanticBox: SemanticBox?
        var semantic: SemanticRecord? {
            get { semanticBox?.record }
            set { semanticBox = newValue.map(SemanticBox.init) }
        }

        init(
            key: CacheKey, value: Data, encoding: ValueEncoding, rawSize: Int, namespace: String, model: String,
            tags: [String], createdAt: CacheTimestamp, expiresAt: CacheTimestamp?, computeDuration: Duration, semantic: SemanticRecord?
        ) {
            self.key = key
            self.value = value
            self.encoding = encoding
            self.rawSize = rawSize
            self.namespace = namespace
            self.model = model
            self.tags = tags
            self.createdAt = createdAt
            self.expiresAt = expiresAt
            self.computeDuration = computeDuration
            self.semantic = semantic
        }

        final class SemanticBox: Sendable {
            let record: SemanticRecord
            init(_ record: SemanticRecord) { self.record = record }
        }

        func copy() -> Storage {
            let copy = Storage(
                key: key, value: value, encoding: encoding, rawSize: rawSize, namespace: namespace, model: model,
                tags: tags, createdAt: createdAt, expiresAt: expiresAt, computeDuration: computeDuration, semantic: nil
            )
            copy.semanticBox = semanticBox
            return copy
        }
    }

    @usableFromInline
    var storage: Storage

    /// An entry sharing `storage` with the entry it came from.
    init(storage: Storage) {
        self.storage = storage
    }

    /// The storage, made unique first so writing it changes this entry only.
    private var mutableStorage: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            return storage
        }
    }

    /// The entry's identity.
    public var key: CacheKey { get { storage.key } set { mutableStorage.key = newValue } }
    /// The stored bytes, encoded as ``encoding`` says.
    public var value: Data { get { storage.value } set { mutableStorage.value = newValue } }
    /// How ``value`` is encoded; ``ValueEncoding/identity`` by default.
    public var encoding: ValueEncoding { get { storage.encoding } set { mutableStorage.encoding = newValue } }
    /// The length of the value before encoding. Equals `value.count` for identity.
    public var rawSize: Int { get { storage.rawSize } set { mutableStorage.rawSize = newValue } }
    /// The tenant or application the entry belongs to. Never empty in practice;
    /// `"default"` when the caller names none.
    public var namespace: String { get { storage.namespace } set { mutableStorage.namespace = newValue } }
    /// The model that produced the value (`""` for memoized functions).
    public var model: String { get { storage.model } set { mutableStorage.model = newValue } }
    /// Labels for invalidation by tag. Order is not significant.
    public var tags: [String] { get { storage.tags } set { mutableStorage.tags = newValue } }
    /// When the entry was first stored.
    public var createdAt: CacheTimestamp { get { storage.createdAt } set { mutableStorage.createdAt = newValue } }
    /// When the entry stops being served; `nil` for never.
    public var expiresAt: CacheTimestamp? {
        @inlinable get { storage.expiresAt }
        set { mutableStorage.expiresAt = newValue }
    }
    /// How long computing the value took: each hit saves this much time.
    public var computeDuration: Duration { get { storage.computeDuration } set { mutableStorage.computeDuration = newValue } }
    /// Present for entries that may be found by meaning.
    public var semantic: SemanticRecord? { get { storage.semantic } set { mutableStorage.semantic = newValue } }

    public init(
        key: CacheKey,
        value: Data,
        encoding: ValueEncoding = .identity,
        rawSize: Int? = nil,
        namespace: String = "default",
        model: String = "",
        tags: [String] = [],
        createdAt: CacheTimestamp,
        expiresAt: CacheTimestamp? = nil,
        computeDuration: Duration = .zero,
        semantic: SemanticRecord? = nil
    ) {
        storage = Storage(
            key: key, value: value, encoding: encoding, rawSize: rawSize ?? value.count, namespace: namespace, model: model,
            tags: tags, createdAt: createdAt, expiresAt: expiresAt, computeDuration: computeDuration, semantic: semantic
        )
    }

    /// Whether the entry is expired at `now`. An entry expires at its
    /// `expiresAt` instant exactly (`now >= expiresAt`).
    @inlinable
    public func isExpired(at now: CacheTimestamp) -> Bool {
        guard let expiresAt else { return false }
        return now >= expiresAt
    }

    /// The bytes this entry is charged against a store's byte budget: the stored
    /// value plus its metadata. Every store accounts with this one formula so
    /// figures agree across backends.
    public var weight: Int {
        let storage = storage
        var total = storage.value.count + 32 + storage.namespace.utf8.count + storage.model.utf8.count
        for tag in storage.tags { total += tag.utf8.count }
        if let semantic = storage.semantic {
            total += semantic.text.utf8.count + semantic.vector.count * 4 + semantic.embeddingModel.utf8.count
        }
        return total
    }

    /// Field by field; two copies of one entry compare without reading their fields.
    public static func == (lhs: CacheEntry, rhs: CacheEntry) -> Bool {
        if lhs.storage === rhs.storage { return true }
        let l = lhs.storage, r = rhs.storage
        return l.key == r.key && l.value == r.value && l.encoding == r.encoding && l.rawSize == r.rawSize
            && l.namespace == r.namespace && l.model == r.model && l.tags == r.tags && l.createdAt == r.createdAt
            && l.expiresAt == r.expiresAt && l.computeDuration == r.computeDuration && l.semantic == r.semantic
    }

    public func hash(into hasher: inout Hasher) {
        let storage = storage
        hasher.combine(storage.key)
        hasher.combine(storage.value)
        hasher.combine(storage.encoding)
        hasher.combine(storage.rawSize)
        hasher.combine(storage.namespace)
        hasher.combine(storage.model)
        hasher.combine(storage.tags)
        hasher.combine(storage.createdAt)
        hasher.combine(storage.expiresAt)
        hasher.combine(storage.computeDuration)
        hasher.combine(storage.semantic)
    }
}
