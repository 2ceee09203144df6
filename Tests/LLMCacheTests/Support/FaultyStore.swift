import Foundation
import LLMCache
import Synchronization

/// Wraps a store and makes chosen operations fail or hang, to test that the
/// cache fails open.
final class FaultyStore: CacheStore {
    enum Fault: Sendable {
        case none
        case fail
        case hang
    }

    let base: any CacheStore
    private let faults = Mutex<(get: Fault, set: Fault)>((.none, .none))

    init(_ base: any CacheStore) { self.base = base }

    func failGets(_ fault: Fault) { faults.withLock { $0.get = fault } }
    func failSets(_ fault: Fault) { faults.withLock { $0.set = fault } }

    private func apply(_ fault: Fault) async throws {
        switch fault {
        case .none: return
        case .fail: throw CacheError(.backendUnavailable, "injected failure")
        case .hang:
            // Never resumes and ignores cancellation: a hung backend does not cooperate.
            await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
        }
    }

    func get(_ key: CacheKey) async throws -> CacheEntry? {
        try await apply(faults.withLock { $0.get })
        return try await base.get(key)
    }

    func set(_ entry: CacheEntry) async throws {
        try await apply(faults.withLock { $0.set })
        try await base.set(entry)
    }

    func delete(_ key: CacheKey) async throws -> Bool { try await base.delete(key) }
    func invalidate(_ selector: InvalidationSelector) async throws -> Int { try await base.invalidate(selector) }
    func statistics() async throws -> StoreStatistics { try await base.statistics() }
    func entries() -> AsyncThrowingStream<CacheEntry, any Error> { base.entries() }
    var events: CacheEventBus { base.events }
}
