import LLMCache

/// A Redis stream entry ID, `<milliseconds>-<sequence>`, ordered as Redis orders them.
struct StreamID: Comparable, Hashable, Sendable, CustomStringConvertible {
    var milliseconds: UInt64
    var sequence: UInt64

    /// `0-0`: before every entry.
    static let zero = StreamID(milliseconds: 0, sequence: 0)

    init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let milliseconds = UInt64(parts[0]), let sequence = UInt64(parts[1]) else { return nil }
        self.init(milliseconds: milliseconds, sequence: sequence)
    }

    static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }

    var description: String { "\(milliseconds)-\(sequence)" }
}

/// One message of a ``RedisStore``'s semantic feed, the stream `<prefix>semantic`.
///
/// Fields: `op` is `add`, `del` or `inv`; `from` is the writing store's
/// ``RedisStore/instanceID``; `add` and `del` carry the entry's key in `k`
/// (the vector is in the entry itself); `inv` carries its selector in `sel`
/// (`tag`, `ns`, `before`, `pattern`, `all`) with its argument in `a` (the
/// tag, the namespace, or the cut-off in nanoseconds since the epoch) or, for
/// `pattern`, the glob patterns in `m` (model) and `n` (namespace), each
/// absent when it matches anything. Readers skip messages they do not know,
/// so later versions can add operations.
struct SemanticFeedMessage: Equatable, Sendable {
    enum Change: Equatable, Sendable {
        /// An entry with a semantic record was stored under this key.
        case add(CacheKey)
        /// The entry under this key lost its semantic record or is gone.
        case remove(CacheKey)
        /// The entries this selector matches are gone.
        case invalidate(InvalidationSelector)
    }

    var id: StreamID
    var sender: String
    /// `nil` for a message this version does not understand.
    var change: Change?

    /// The `sel`/`a`/`m`/`n` fields of an `inv` message, as field/value pairs.
    static func fields(for selector: InvalidationSelector) -> [String] {
        switch selector {
        case .key(let key): return ["sel", "key", "a", key.hex]
        case .tag(let tag): return ["sel", "tag", "a", tag]
        case .namespace(let namespace): return ["sel", "ns", "a", namespace]
        case .createdBefore(let cutoff): return ["sel", "before", "a", String(cutoff.nanosecondsSinceEpoch)]
        case .all: return ["sel", "all"]
        case .pattern(let model, let namespace):
            var fields = ["sel", "pattern"]
            if let model { fields += ["m", model.pattern] }
            if let namespace { fields += ["n", namespace.pattern] }
            return fields
        }
    }

    /// Reads one stream entry's fields; the change is `nil` when they name
    /// an operation or selector this version does not know, or are malformed.
    init(id: StreamID, fields: [String: String]) {
        self.id = id
        self.sender = fields["from"] ?? ""
        switch fields["op"] {
        case "add": change = fields["k"].flatMap(CacheKey.init(hex:)).map(Change.add)
        case "del": change = fields["k"].flatMap(CacheKey.init(hex:)).map(Change.remove)
        case "inv": change = Self.selector(fields).map(Change.invalidate)
        default: change = nil
        }
    }

    private static func selector(_ fields: [String: String]) -> InvalidationSelector? {
        let argument = fields["a"]
        switch fields["sel"] {
        case "key": return argument.flatMap(CacheKey.init(hex:)).map(InvalidationSelector.key)
        case "tag": return argument.map(InvalidationSelector.tag)
        case "ns": return argument.map(InvalidationSelector.namespace)
        case "before": return argument.flatMap { Int64($0) }.map { .createdBefore(CacheTimestamp(nanosecondsSinceEpoch: $0)) }
        case "all": return .all
        case "pattern":
            do {
                return .pattern(model: try fields["m"].map(GlobPattern.init), namespace: try fields["n"].map(GlobPattern.init))
            } catch {
                return nil
            }
        default: return nil
        }
    }

    /// The messages of an `XREAD` reply for one stream (RESP2 or RESP3); empty
    /// for the null reply of a read that timed out.
    static func messages(inXREADReply reply: RESPValue) throws(RedisError) -> [SemanticFeedMessage] {
        let entries: RESPValue
        switch reply {
        case .null:
            return []
        case .map(let streams):
            guard let first = streams.first else { return [] }
            entries = first.value
        default:
            guard let streams = reply.elements else { throw RedisError(.unexpectedReply, "XREAD answered \(reply)") }
            guard let first = streams.first?.elements, first.count == 2 else { return [] }
            entries = first[1]
        }
        guard let list = entries.elements else { throw RedisError(.unexpectedReply, "XREAD answered \(reply)") }
        return try list.map { entry throws(RedisError) in
            guard let parts = entry.elements, parts.count == 2, let id = parts[0].string.flatMap(StreamID.init) else {
                throw RedisError(.unexpectedReply, "a stream entry had an unexpected shape: \(entry)")
            }
            return SemanticFeedMessage(id: id, fields: pairs(parts[1]))
        }
    }

    /// Field/value pairs of a RESP2 flat array or a RESP3 map, as text.
    static func pairs(_ value: RESPValue) -> [String: String] {
        var fields: [String: String] = [:]
        let flat = value.elements ?? []
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, let value = flat[index + 1].string { fields[name] = value }
            index += 2
        }
        return fields
    }
}
