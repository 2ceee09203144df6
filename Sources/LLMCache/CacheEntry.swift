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
/// A value type; safe to share across tasks.
public struct CacheEntry: Hashable, Sendable {
    /// The entry's identity.
    public var key: CacheKey
    /// The stored bytes, encoded as ``encoding`` says.
    public var value: Data
    /// How ``value`` is encoded; ``ValueEncoding/identity`` by default.
    public var encoding: ValueEncoding
    /// The length of the value before encoding. Equals `value.count` for identity.
    public var rawSize: Int
    /// The tenant or application the entry belongs to. Never empty in practice;
    /// `"default"` when the caller names none.
    public var namespace: String
    /// The model that produced the value (`""` for memoized functions).
    public var model: String
    /// Labels for invalidation by tag. Order is not significant.
    public var tags: [String]
    /// When the entry was first stored.
    public var createdAt: CacheTimestamp
    /// When the entry stops being served; `nil` for never.
    public var expiresAt: CacheTimestamp?
    /// How long computing the value took: each hit saves this much time.
    public var computeDuration: Duration
    /// Present for entries that may be found by meaning.
    public var semantic: SemanticRecord?

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
        self.key = key
        self.value = value
        self.encoding = encoding
        self.rawSize = rawSize ?? value.count
        self.namespace = namespace
        self.model = model
        self.tags = tags
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.computeDuration = computeDuration
        self.semantic = semantic
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
        var total = value.count + 32 + namespace.utf8.count + model.utf8.count
        for tag in tags { total += tag.utf8.count }
        if let semantic { total += semantic.text.utf8.count + semantic.vector.count * 4 + semantic.embeddingModel.utf8.count }
        return total
    }
}
