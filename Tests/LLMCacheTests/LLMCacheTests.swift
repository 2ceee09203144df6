import Foundation
import Synchronization
import Testing
@testable import LLMCache

/// Counts calls of a stand-in for the model, and lets tests hold it open.
final class ModelStub: Sendable {
    let calls = Counter()

    func answer(_ text: String = "answer", delay: Duration = .zero) async throws -> Data {
        calls.next()
        if delay > .zero { try await Task.sleep(for: delay) }
        return Data(text.utf8)
    }

    var count: Int { calls.count }
}

/// A shareable counter for closures that escape into tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    /// Increments and returns the new value.
    @discardableResult
    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    var count: Int { value.load(ordering: .relaxed) }
}

func request(_ content: String = "Hello", temperature: Double? = nil, model: String = "gpt-4o") throws -> LLMRequest {
    var json = #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(content)"}]"#
    if let temperature { json += ",\"temperature\":\(temperature)" }
    return try LLMRequest(json: Array((json + "}").utf8))
}

@Suite struct LLMCacheTests {
    let clock = ManualCacheClock()

    func makeCache(_ store: (any CacheStore)? = nil, _ configure: (inout LLMCache.Configuration) -> Void = { _ in }) -> LLMCache {
        var configuration = LLMCache.Configuration()
        configure(&configuration)
        return LLMCache(store: store ?? DictionaryStore(clock: clock), configuration: configuration, clock: clock)
    }

    @Test func aRepeatedRequestIsServedFromTheCache() async throws {
        let cache = makeCache()
        let model = ModelStub()
        let first = try await cache.response(for: try request()) { try await model.answer("42") }
        clock.advance(by: .seconds(30))
        let second = try await cache.response(for: try request()) { try await model.answer("other") }
        #expect(first.source == .miss)
        #expect(second.source == .hit)
        #expect(second.value == Data("42".utf8))
        #expect(second.age == .seconds(30))
        #expect(model.count == 1)
        let stats = await cache.statistics()
        #expect(stats.hits == 1 && stats.misses == 1)
        #expect(stats.hitRatio == 0.5)
        #expect(stats.timeSaved == first.computeDuration)
        #expect(stats.store?.entries == 1)
    }

    @Test func largeAnswersAreCompressedInTheStoreAndServedWhole() async throws {
        let store = DictionaryStore(clock: clock)
        let cache = makeCache(store)
        let long = String(repeating: "A long and repetitive answer. ", count: 200)
        _ = try await cache.response(for: try request()) { Data(long.utf8) }
        let hit = try await cache.response(for: try request()) { Data() }
        #expect(hit.value == Data(long.utf8))
        let stats = await cache.statistics()
        #expect(stats.store!.rawBytes == long.utf8.count)
        #expect(stats.store!.storedBytes < long.utf8.count / 4)
    }

    @Test func concurrentMissesOnOneKeyComputeOnce() async throws {
        let cache = makeCache()
        let model = ModelStub()
        let results = try await withThrowingTaskGroup(of: LLMCache.Response.self) { group in
            for _ in 0..<50 {
                group.addTask { try await cache.response(for: try request()) { try await model.answer("once", delay: .milliseconds(100)) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(model.count == 1)
        #expect(results.allSatisfy { $0.value == Data("once".utf8) })
        #expect(results.filter { !$0.shared }.count == 1)
    }

    @Test func anErrorReachesEveryWaiterAndIsNotCached() async throws {
        struct Upstream: Error {}
        let cache = makeCache()
        let attempts = Counter()
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        _ = try await cache.response(for: try request()) {
                            attempts.next()
                            try await Task.sleep(for: .milliseconds(100))
                            throw Upstream()
                        }
                        return false
                    } catch { return error is Upstream }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 10)
        #expect(attempts.count == 1)
        let retry = try await cache.response(for: try request()) { Data("recovered".utf8) }
        #expect(retry.source == .miss)
        #expect(retry.value == Data("recovered".utf8))
    }

    @Test func aCancelledWaiterDoesNotCancelTheOthers() async throws {
        let cache = makeCache()
        let model = ModelStub()
        let starter = Task { try await cache.response(for: try request()) { try await model.answer("done", delay: .milliseconds(300)) } }
        try await Task.sleep(for: .milliseconds(50))
        let waiter = Task { try await cache.response(for: try request()) { try await model.answer("second") } }
        try await Task.sleep(for: .milliseconds(50))
        starter.cancel()
        await #expect(throws: CancellationError.self) { try await starter.value }
        let result = try await waiter.value
        #expect(result.value == Data("done".utf8))
        #expect(model.count == 1)
        // The run finished and was stored even though the caller that started it left.
        #expect(try await cache.response(for: try request()) { Data() }.source == .hit)
    }

    @Test func samplingPolicySkipAboveBypassesHotRequests() async throws {
        let cache = makeCache { $0.sampling = .skip(above: 0.5) }
        let model = ModelStub()
        for _ in 0..<3 { _ = try await cache.response(for: try request(temperature: 0.9)) { try await model.answer() } }
        #expect(model.count == 3)
        for _ in 0..<3 { _ = try await cache.response(for: try request(temperature: 0.2)) { try await model.answer() } }
        #expect(model.count == 4)
        // No temperature means the providers' default of 1.
        let noTemperature = try await cache.response(for: try request()) { try await model.answer() }
        #expect(noTemperature.source == .bypass)
        #expect(await cache.statistics().bypasses == 4)
    }

    @Test func samplingPolicyVariantsServesDistinctAnswersInTurn() async throws {
        let cache = makeCache { $0.sampling = .variants(3) }
        let counter = Counter()
        var served: [String] = []
        for _ in 0..<9 {
            let response = try await cache.response(for: try request(temperature: 0.8)) {
                Data("story \(counter.next())".utf8)
            }
            served.append(String(decoding: response.value, as: UTF8.self))
        }
        #expect(counter.count == 3)
        #expect(Set(served) == ["story 1", "story 2", "story 3"])
        #expect(served[0..<3] == served[3..<6])
        // Deterministic requests are still one answer.
        for _ in 0..<3 { _ = try await cache.response(for: try request(temperature: 0)) { Data("fixed \(counter.next())".utf8) } }
        #expect(counter.count == 4)
    }

    @Test func perCallOptionsRefreshSkipStoreAndLimitAge() async throws {
        let cache = makeCache()
        let model = ModelStub()
        _ = try await cache.response(for: try request()) { try await model.answer("v1") }
        let refreshed = try await cache.response(for: try request(), options: .init(lookup: false)) { try await model.answer("v2") }
        #expect(refreshed.source == .miss)
        #expect(try await cache.response(for: try request()) { Data() }.value == Data("v2".utf8))

        let unstored = try await cache.response(for: try request("other"), options: .init(store: false)) { try await model.answer("x") }
        #expect(unstored.source == .miss)
        #expect(try await cache.response(for: try request("other"), options: .init(store: false)) { try await model.answer("y") }.value == Data("y".utf8))

        clock.advance(by: .seconds(120))
        let young = try await cache.response(for: try request(), options: .init(maxAge: .seconds(60))) { try await model.answer("v3") }
        #expect(young.source == .miss)
        #expect(young.value == Data("v3".utf8))
    }

    @Test func ttlAndTagsApplyToStoredAnswers() async throws {
        let cache = makeCache { $0.defaultTTL = .seconds(60) }
        _ = try await cache.response(for: try request("a")) { Data("a".utf8) }
        _ = try await cache.response(for: try request("b"), options: .init(ttl: .seconds(600), tags: ["faq"])) { Data("b".utf8) }
        clock.advance(by: .seconds(61))
        #expect(await cache.lookup(try request("a")) == nil)
        #expect(await cache.lookup(try request("b"))?.value == Data("b".utf8))
        #expect(try await cache.invalidate(.tag("faq")) == 1)
        #expect(await cache.lookup(try request("b")) == nil)
    }

    @Test func aFailingStoreTurnsIntoMissesAndTheComputeStillRuns() async throws {
        let store = FaultyStore(DictionaryStore(clock: clock))
        let cache = makeCache(store)
        let model = ModelStub()
        store.failGets(.fail)
        store.failSets(.fail)
        let first = try await cache.response(for: try request()) { try await model.answer("live") }
        #expect(first.source == .miss)
        #expect(first.value == Data("live".utf8))
        #expect(first.storeError?.code == .backendUnavailable)
        #expect(await cache.statistics().storeErrors == 2)
        // When the store recovers the cache resumes by itself.
        store.failGets(.none)
        store.failSets(.none)
        _ = try await cache.response(for: try request()) { try await model.answer("live") }
        #expect(try await cache.response(for: try request()) { try await model.answer() }.source == .hit)
        #expect(model.count == 2)
    }

    @Test func aHungStoreTimesOutIntoAMiss() async throws {
        let store = FaultyStore(DictionaryStore(clock: clock))
        let cache = makeCache(store) { $0.storeTimeout = .milliseconds(100) }
        store.failGets(.hang)
        store.failSets(.hang)
        let response = try await cache.response(for: try request()) { Data("served anyway".utf8) }
        #expect(response.value == Data("served anyway".utf8))
        #expect(response.storeError?.code == .timeout)
        #expect(await cache.statistics().storeErrors == 2)
    }

    @Test func anAnswerOverTheMaximumSizeIsReportedNotSilentlyDropped() async throws {
        let store = DictionaryStore(clock: clock, maximumEntryWeight: 500)
        let cache = makeCache(store) { $0.compression = .disabled }
        let events = cache.events()
        let response = try await cache.response(for: try request()) { Data(count: 1000) }
        #expect(response.value.count == 1000)
        #expect(response.storeError?.code == .entryTooLarge)
        #expect(await cache.statistics().rejectedEntries == 1)
        var iterator = events.makeAsyncIterator()
        let event = await iterator.next()
        #expect(event == .rejected(response.key, reason: "too large"))
    }

    @Test func aDamagedEntryIsDroppedAndRecomputed() async throws {
        let store = DictionaryStore(clock: clock)
        let cache = makeCache(store)
        let key = cache.key(for: try request())
        try await store.set(CacheEntry(key: key, value: Data("garbage".utf8), encoding: .zstd, rawSize: 5000, createdAt: clock.now()))
        let response = try await cache.response(for: try request()) { Data("fresh".utf8) }
        #expect(response.source == .miss)
        #expect(response.value == Data("fresh".utf8))
        #expect(try await cache.response(for: try request()) { Data() }.value == Data("fresh".utf8))
    }

    @Test func aSlowEventSubscriberNeverBlocksTheCache() async throws {
        let cache = makeCache()
        let unread = cache.events(bufferSize: 4)
        for i in 0..<100 {
            _ = try await cache.response(for: try request("q\(i)"), options: .init(tags: ["t\(i)"])) { Data("a".utf8) }
            _ = try await cache.invalidate(.tag("t\(i)"))
        }
        #expect(cache.store.events.droppedEvents == 96)
        var iterator = unread.makeAsyncIterator()
        // The newest four are kept.
        #expect(await iterator.next() == .invalidated(.tag("t96"), count: 1))
    }
}

@Suite struct MemoizationTests {
    struct Forecast: Codable, Equatable, Sendable { var city: String; var days: Int; var high: Double }

    @Test func equalArgumentsAreComputedOnce() async throws {
        let cache = LLMCache(store: DictionaryStore())
        let calls = Counter()
        let forecast = cache.memoize("forecast", ttl: .seconds(600)) { (city: String, days: Int) -> Forecast in
            calls.next()
            return Forecast(city: city, days: days, high: 21.5)
        }
        let a = try await forecast("Oslo", 3)
        let b = try await forecast("Oslo", 3)
        let c = try await forecast("Oslo", 4)
        #expect(a == b)
        #expect(c.days == 4)
        #expect(calls.count == 2)
    }

    @Test func concurrentCallsShareOneRunAndErrorsAreNotCached() async throws {
        struct Flaky: Error {}
        let cache = LLMCache(store: DictionaryStore())
        let calls = Counter()
        let slow = cache.memoize("slow") { (n: Int) -> Int in
            let call = calls.next()
            try await Task.sleep(for: .milliseconds(100))
            if call == 1 { throw Flaky() }
            return n * 2
        }
        let outcomes = await withTaskGroup(of: Int?.self) { group in
            for _ in 0..<20 { group.addTask { try? await slow(21) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0 == nil })
        #expect(calls.count == 1)
        #expect(try await slow(21) == 42)
        #expect(try await slow(21) == 42)
        #expect(calls.count == 2)
    }

    @Test func aResultThatNoLongerDecodesIsRecomputed() async throws {
        struct Old: Codable, Sendable { var value: String }
        struct New: Codable, Sendable { var value: Int }
        let cache = LLMCache(store: DictionaryStore())
        let old = cache.memoize("lookup") { (id: Int) in Old(value: "text") }
        _ = try await old(1)
        let new = cache.memoize("lookup") { (id: Int) in New(value: 7) }
        #expect(try await new(1).value == 7)
        #expect(try await new(1).value == 7)
    }

    @Test func distinctNamesDoNotShareResults() async throws {
        let cache = LLMCache(store: DictionaryStore())
        let double = cache.memoize("double") { (n: Int) in n * 2 }
        let square = cache.memoize("square") { (n: Int) in n * n }
        #expect(try await double(5) == 10)
        #expect(try await square(5) == 25)
    }
}

import MetricsTestKit

@Suite struct MetricsExportTests {
    @Test func hitsMissesTimeSavedAndStoreErrorsAreExported() async throws {
        let metrics = TestMetrics()
        let clock = ManualCacheClock()
        let store = FaultyStore(DictionaryStore(clock: clock))
        let cache = LLMCache(store: store, clock: clock, metricsFactory: metrics)
        _ = try await cache.response(for: try request()) {
            try await Task.sleep(for: .milliseconds(20))
            return Data("a".utf8)
        }
        _ = try await cache.response(for: try request()) { Data() }
        store.failGets(.fail)
        _ = try await cache.response(for: try request("x")) { Data() }
        _ = await cache.statistics()

        #expect(try metrics.expectCounter("llm_cache_hits_total").lastValue == 1)
        #expect(try metrics.expectCounter("llm_cache_misses_total").totalValue == 2)
        #expect(try metrics.expectCounter("llm_cache_store_errors_total", [("operation", "get")]).totalValue == 1)
        let saved = try metrics.expectTimer("llm_cache_time_saved_seconds").values
        #expect(saved.count == 1 && saved[0] >= 20_000_000)
        #expect(try metrics.expectTimer("llm_cache_compute_duration_seconds").values.count == 2)
        #expect(try metrics.expectGauge("llm_cache_entries").lastValue == 2)
    }

    @Test func corruptEntriesTheStoreCountsAreExportedAsACounter() async throws {
        let metrics = TestMetrics()
        let store = DictionaryStore()
        let cache = LLMCache(store: store, metricsFactory: metrics)
        store.corruptEntries.store(3, ordering: .relaxed)
        #expect(await cache.statistics().store?.corruptEntries == 3)
        #expect(try metrics.expectCounter("llm_cache_store_corrupt_entries_total").totalValue == 3)
        store.corruptEntries.store(5, ordering: .relaxed)
        _ = await cache.statistics()
        _ = await cache.statistics()
        #expect(try metrics.expectCounter("llm_cache_store_corrupt_entries_total").totalValue == 5)
    }
}
