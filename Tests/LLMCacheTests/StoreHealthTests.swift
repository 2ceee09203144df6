import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import LLMCache

/// An outage of the store is one line when it begins and one when it ends,
/// not one per call; its state and counts are in ``LLMCache/storeHealth`` and
/// the metrics.
@Suite struct StoreHealthTests {
    let start = ContinuousClock.now

    @Test func anOutageIsOneEventDownOneUpAndAReminderPerInterval() {
        var state = StoreHealthState(reminderInterval: .seconds(60))
        #expect(state.succeeded(now: start) == .none)
        #expect(state.failed(now: start, error: "refused") == .wentDown)
        for second in 1..<60 {
            #expect(state.failed(now: start + .seconds(second), error: "refused") == .none)
        }
        #expect(state.failed(now: start + .seconds(60), error: "refused") == .stillDown(failures: 60, outage: .seconds(60)))
        #expect(state.failed(now: start + .seconds(61), error: "timed out") == .none)
        let health = state.snapshot(now: start + .seconds(62))
        #expect(!health.isAvailable)
        #expect(health.unavailableFor == .seconds(62))
        #expect(health.failedOperations == 62)
        #expect(health.lastError == "timed out")
        #expect(state.succeeded(now: start + .seconds(70)) == .cameBack(failures: 62, outage: .seconds(70)))
        #expect(state.succeeded(now: start + .seconds(71)) == .none)
        #expect(state.snapshot(now: start + .seconds(71)) == StoreHealth(isAvailable: true, unavailableFor: nil, lastError: nil, failedOperations: 0, outages: 1))
        #expect(state.failed(now: start + .seconds(80), error: "refused") == .wentDown, "a second outage is reported anew")
        #expect(state.snapshot(now: start + .seconds(80)).outages == 2)
    }

    @Test func manyFailedCallsLogOneWarningAndOneRecovery() async throws {
        var capture = InMemoryLogHandler()
        capture.logLevel = .trace
        let metrics = TestMetrics()
        let store = FaultyStore(MemoryStore())
        let cache = LLMCache(store: store, logger: Logger(label: "test") { _ in capture }, metricsFactory: metrics)
        _ = try await cache.response(for: try request("warm")) { Data("a".utf8) }
        #expect(try metrics.expectGauge("llm_cache_store_up").lastValue == 1)
        store.failGets(.fail)
        store.failSets(.fail)
        for call in 0..<50 {
            let answer = try await cache.response(for: try request("call \(call)")) { Data("b".utf8) }
            #expect(answer.source == .miss, "the cache did not fail open")
        }
        #expect(!cache.storeHealth.isAvailable)
        #expect(cache.storeHealth.failedOperations == 100)
        #expect(try metrics.expectGauge("llm_cache_store_up").lastValue == 0)
        store.failGets(.none)
        store.failSets(.none)
        _ = try await cache.response(for: try request("after")) { Data("c".utf8) }
        #expect(cache.storeHealth.isAvailable)

        let lines = capture.entries.filter { $0.level >= .notice }
        #expect(lines.map(\.message) == [
            "cache store unavailable; requests are answered without the cache until it is back",
            "cache store available again",
        ])
        #expect(lines.first?.level == .warning)
        #expect(lines.last?.metadata["failed_operations"] == "100")
        #expect(try metrics.expectCounter("llm_cache_store_outages_total").totalValue == 1)
        #expect(try metrics.expectGauge("llm_cache_store_up").lastValue == 1)
        #expect(try metrics.expectCounter("llm_cache_store_errors_total", [("operation", "get")]).totalValue == 50, "store errors are still counted per operation")
    }

    /// A store whose backend is known down answers some calls from memory:
    /// those successes must not end the outage, or the log would flap.
    @Test func aHitAnsweredWithoutTheBackendDoesNotEndTheOutage() async throws {
        let store = HalfDownStore()
        let cache = LLMCache(store: store)
        _ = try await cache.response(for: try request("a")) { Data("a".utf8) }
        store.down.withLock { $0 = true }
        _ = try await cache.response(for: try request("b")) { Data("b".utf8) }
        #expect(!cache.storeHealth.isAvailable)
        #expect(try await cache.response(for: try request("a")) { Data() }.source == .hit)
        #expect(!cache.storeHealth.isAvailable, "a hit from memory ended the outage while the backend was down")
        store.down.withLock { $0 = false }
        _ = try await cache.response(for: try request("a")) { Data() }
        #expect(cache.storeHealth.isAvailable)
        #expect(cache.storeHealth.outages == 1)
    }

    @Test func checkStoreFindsAnOutageWithoutTraffic() async throws {
        let store = FaultyStore(MemoryStore())
        let cache = LLMCache(store: store)
        #expect(await cache.checkStore().isAvailable)
        store.failGets(.fail)
        let health = await cache.checkStore()
        #expect(!health.isAvailable)
        #expect(health.lastError?.contains("injected failure") == true)
        #expect(await cache.statistics().storeErrors == 0, "a readiness check counted as a failed call")
        store.failGets(.none)
        #expect(await cache.checkStore().isAvailable)
    }
}

/// Serves what it has from memory; everything else fails while `down`, and it
/// says its backend is unreachable then (as a Redis store behind an open breaker).
private final class HalfDownStore: CacheStore {
    let memory = MemoryStore()
    let down = Mutex(false)
    var events: CacheEventBus { memory.events }
    var isBackendReachable: Bool { !down.withLock { $0 } }

    func get(_ key: CacheKey) async throws -> CacheEntry? {
        if let entry = try await memory.get(key) { return entry }
        if down.withLock({ $0 }) { throw CacheError(.backendUnavailable, "backend down") }
        return nil
    }

    func set(_ entry: CacheEntry) async throws {
        if down.withLock({ $0 }) { throw CacheError(.backendUnavailable, "backend down") }
        try await memory.set(entry)
    }

    func delete(_ key: CacheKey) async throws -> Bool { try await memory.delete(key) }
    func invalidate(_ selector: InvalidationSelector) async throws -> Int { try await memory.invalidate(selector) }
    func statistics() async throws -> StoreStatistics { try await memory.statistics() }
    func entries() -> AsyncThrowingStream<CacheEntry, any Error> { memory.entries() }
}
