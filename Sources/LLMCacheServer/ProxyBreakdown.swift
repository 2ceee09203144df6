/// The requests the proxy has served since it started, by route and by
/// model, as `/admin/breakdown` shows them. A value kept inside
/// ``ProxyHistory``'s lock.
///
/// Models are bounded: the first 50 distinct names are kept, every later one
/// (and any name longer than 128 bytes, which no real model has) is counted
/// under `"other"`, so clients sending made-up names cannot grow memory.
struct ProxyBreakdown {
    /// The requests of one route or model and what their hits saved.
    struct Tally: Sendable, Equatable {
        var requests = 0
        var hits = 0
        var semanticHits = 0
        var misses = 0
        var bypasses = 0
        /// Upstream errors and rejected requests.
        var errors = 0
        var savedTokens = 0
        var savedCost = 0.0

        mutating func add(_ outcome: ProxyMetrics.Outcome, savedTokens tokens: Int, savedCost cost: Double) {
            requests &+= 1
            switch outcome {
            case .hit: hits &+= 1
            case .semanticHit: semanticHits &+= 1
            case .miss: misses &+= 1
            case .bypass: bypasses &+= 1
            case .upstreamError, .rejected: errors &+= 1
            }
            savedTokens &+= tokens
            savedCost += cost
        }
    }

    /// A copy for reading, made inside the lock.
    struct Snapshot: Sendable {
        /// By ``ProxyMetrics/Route/rawValue``.
        var routes: [Tally]
        var models: [String: Tally]
    }

    /// The most distinct model names kept.
    static let modelLimit = 50
    /// The longest model name kept, in UTF-8 bytes.
    static let longestModelName = 128
    /// Where the names beyond ``modelLimit`` are counted.
    static let otherModel = "other"

    private var routes = [Tally](repeating: Tally(), count: ProxyMetrics.Route.allCases.count)
    /// Each kept name's index in `modelTallies`.
    private var modelIndex: [String: Int]
    private var modelTallies: [Tally]
    private var other = Tally()
    /// The last name looked up and its index: most traffic is of a few
    /// models, and comparing a name costs less than hashing it.
    private var lastModel: String?
    private var lastIndex = 0

    init() {
        // Reserved now, so that a new name never makes them grow.
        modelIndex = Dictionary(minimumCapacity: Self.modelLimit)
        modelTallies = []
        modelTallies.reserveCapacity(Self.modelLimit)
    }

    /// Counts one request; `model` is `nil` for a request that was not read.
    mutating func record(_ route: ProxyMetrics.Route, _ outcome: ProxyMetrics.Outcome, model: String?, savedTokens: Int, savedCost: Double) {
        routes[route.rawValue].add(outcome, savedTokens: savedTokens, savedCost: savedCost)
        guard let model else { return }
        if model == lastModel {
            modelTallies[lastIndex].add(outcome, savedTokens: savedTokens, savedCost: savedCost)
        } else if let index = modelIndex[model] {
            modelTallies[index].add(outcome, savedTokens: savedTokens, savedCost: savedCost)
            (lastModel, lastIndex) = (model, index)
        } else if modelTallies.count < Self.modelLimit, model.utf8.count <= Self.longestModelName {
            modelIndex[model] = modelTallies.count
            (lastModel, lastIndex) = (model, modelTallies.count)
            var tally = Tally()
            tally.add(outcome, savedTokens: savedTokens, savedCost: savedCost)
            modelTallies.append(tally)
        } else {
            other.add(outcome, savedTokens: savedTokens, savedCost: savedCost)
        }
    }

    /// A copy in new storage, so that the next request does not copy the
    /// tallies on write.
    func snapshot() -> Snapshot {
        var models = [String: Tally](minimumCapacity: modelIndex.count + 1)
        for (name, index) in modelIndex { models[name] = modelTallies[index] }
        if other.requests > 0 {
            // A client's own model called "other" is summed with the overflow.
            var merged = models[Self.otherModel] ?? Tally()
            merged.requests += other.requests
            merged.hits += other.hits
            merged.semanticHits += other.semanticHits
            merged.misses += other.misses
            merged.bypasses += other.bypasses
            merged.errors += other.errors
            merged.savedTokens += other.savedTokens
            merged.savedCost += other.savedCost
            models[Self.otherModel] = merged
        }
        return Snapshot(routes: routes.map { $0 }, models: models)
    }
}
