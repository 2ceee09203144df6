import LLMCache

/// The last 100 semantic hits, for `/admin/semantic-hits`: which stored
/// answer each was served and how close it was, so that a wrong one can be
/// reported (`/admin/incorrect-hit` takes its ``Hit/key``). A fixed ring,
/// kept inside ``ProxyHistory``'s lock; a hit's strings are its only
/// allocation, on a path that has just embedded the request.
struct RecentSemanticHits {
    /// One semantic hit.
    struct Hit: Sendable, Equatable {
        var route: ProxyMetrics.Route
        var model: String
        var similarity: Float
        /// The key of the entry that answered (the `X-Cache-Key` the client saw).
        var key: CacheKey
        /// The request's last user text, at most ``textLimit`` characters.
        var text: String

        init(route: ProxyMetrics.Route, model: String, similarity: Float, key: CacheKey, text: String?) {
            self.route = route
            self.model = model
            self.similarity = similarity
            self.key = key
            self.text = Self.shortened(text ?? "")
        }

        /// `text` cut to ``textLimit`` characters, and to as many Unicode
        /// scalars, so that a character of many combining marks cannot make
        /// it long.
        static func shortened(_ text: String) -> String {
            let short = text.prefix(textLimit)
            guard short.unicodeScalars.count > textLimit else { return String(short) }
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: short.unicodeScalars.prefix(textLimit))
            return String(scalars)
        }
    }

    /// A hit and when it was served, in Unix seconds.
    struct Dated: Sendable, Equatable {
        var at: Int64
        var hit: Hit
    }

    static let capacity = 100
    static let textLimit = 200

    private var ring: [Dated?] = Array(repeating: nil, count: capacity)
    /// Where the next hit goes.
    private var next = 0

    mutating func append(_ hit: Hit, at seconds: Int64) {
        ring[next] = Dated(at: seconds, hit: hit)
        next = (next + 1) % Self.capacity
    }

    /// Up to `limit` hits, newest first.
    func newest(_ limit: Int) -> [Dated] {
        var hits: [Dated] = []
        hits.reserveCapacity(min(max(limit, 0), Self.capacity))
        var index = next
        for _ in 0..<min(max(limit, 0), Self.capacity) {
            index = (index + Self.capacity - 1) % Self.capacity
            guard let dated = ring[index] else { break }
            hits.append(dated)
        }
        return hits
    }
}
