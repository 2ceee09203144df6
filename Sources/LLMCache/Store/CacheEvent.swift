import Synchronization

/// Something that removed entries from a store, for others to react to (drop a
/// derived index entry, log, refresh).
public enum CacheEvent: Hashable, Sendable {
    /// Entries removed on request.
    case invalidated(InvalidationSelector, count: Int)
    /// An entry removed to keep the store within its budget.
    case evicted(CacheKey)
    /// An entry removed because its time to live ran out.
    case expired(CacheKey)
    /// An entry that was offered but not stored, with the reason
    /// (for example, larger than the maximum entry size).
    case rejected(CacheKey, reason: String)
}

/// Broadcasts ``CacheEvent``s to any number of subscribers without ever blocking
/// the publisher.
///
/// Each subscriber gets its own buffer of the newest `bufferSize` events; a slow
/// subscriber loses its oldest unread events (counted in ``droppedEvents``), and a
/// subscriber that stops iterating is removed. Publishing with no subscribers
/// costs one atomic load. Thread-safe.
public final class CacheEventBus: Sendable {
    private struct Subscribers: ~Copyable {
        var nextID = 0
        var continuations: [Int: AsyncStream<CacheEvent>.Continuation] = [:]
    }

    private let subscribers = Mutex(Subscribers())
    private let subscriberCount = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    public init() {}

    /// A stream of every event published from now on.
    ///
    /// - Parameter bufferSize: events kept for this subscriber while it is
    ///   behind; default 1024.
    public func subscribe(bufferSize: Int = 1024) -> AsyncStream<CacheEvent> {
        let (stream, continuation) = AsyncStream<CacheEvent>.makeStream(bufferingPolicy: .bufferingNewest(max(1, bufferSize)))
        let id = subscribers.withLock { state -> Int in
            let id = state.nextID
            state.nextID += 1
            state.continuations[id] = continuation
            return id
        }
        subscriberCount.add(1, ordering: .relaxed)
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            let removed = self.subscribers.withLock { $0.continuations.removeValue(forKey: id) }
            if removed != nil { self.subscriberCount.subtract(1, ordering: .relaxed) }
        }
        return stream
    }

    /// Delivers `event` to every subscriber; never blocks, never throws.
    public func publish(_ event: CacheEvent) {
        guard subscriberCount.load(ordering: .relaxed) > 0 else { return }
        let continuations = subscribers.withLock { Array($0.continuations.values) }
        for continuation in continuations {
            if case .dropped = continuation.yield(event) {
                dropped.add(1, ordering: .relaxed)
            }
        }
    }

    /// Whether anyone is listening; lets publishers skip building events.
    public var hasSubscribers: Bool { subscriberCount.load(ordering: .relaxed) > 0 }

    /// Events that slow subscribers lost because their buffer was full.
    public var droppedEvents: Int { dropped.load(ordering: .relaxed) }
}
