import Foundation
import Synchronization
import Testing

@testable import LLMCache

/// `SemanticCache.Configuration.maximumPendingEmbeddings`: past that many
/// texts waiting for the embedder, a miss is answered and stored by exact key
/// at once instead of queueing behind them.
@Suite struct SemanticOverloadTests {
    /// Holds every embedding of a text that starts with "hold" until opened.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))
        let entered = Counter()

        func pass() async {
            entered.next()
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { s -> Bool in
                    if s.open { return true }
                    s.waiting.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }

        func open() {
            let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.open = true
                defer { s.waiting = [] }
                return s.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    func tier(_ gate: Gate, embeds: Counter, limit: Int?) -> SemanticCache {
        var configuration = SemanticCache.Configuration(threshold: 0.8, verifiers: [], maximumPendingEmbeddings: limit)
        configuration.approximateSearchThreshold = .max
        return SemanticCache(embeddingModel: "test/gated", dimension: 4, configuration: configuration) { text in
            embeds.next()
            if text.hasPrefix("hold") { await gate.pass() }
            switch text.split(separator: " ").first {
            case "reset": return text.contains("my") ? [1, 0, 0, 0] : [0.96, 0.28, 0, 0]
            case "hold": return text.contains("one") ? [0, 1, 0, 0] : [0, 0, 1, 0]
            default: return [0, 0, 0, 1]
            }
        }
    }

    /// Waits, without a time limit that could fire on a busy machine before
    /// the tasks ran, until `counter` reaches `value`.
    func wait(for counter: Counter, toReach value: Int) async {
        while counter.count < value { try? await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func aMissPastTheLimitSkipsTheEmbedderAndIsStoredForExactHits() async throws {
        let gate = Gate()
        let embeds = Counter()
        let store = DictionaryStore(clock: ManualCacheClock())
        let cache = LLMCache(store: store, semantic: tier(gate, embeds: embeds, limit: 2), clock: ManualCacheClock())
        // Two misses whose texts the embedder holds: the limit is reached.
        let held = (0..<2).map { index in
            Task { try await cache.response(for: try request(index == 0 ? "hold one" : "hold two")) { Data("held \(index)".utf8) } }
        }
        await wait(for: gate.entered, toReach: 2)

        // The third does not wait for them: answered, stored, not embedded.
        let skipped = try await cache.response(for: try request("reset my password")) { Data("Use the reset link.".utf8) }
        #expect(skipped.source == .miss)
        #expect(skipped.value == Data("Use the reset link.".utf8))
        #expect(embeds.count == 2, "the skipped miss was not embedded")
        let stored = try #require(try await store.get(skipped.key))
        #expect(stored.semantic == nil, "stored by exact key only")
        #expect(await cache.statistics().semanticSkips == 1)

        gate.open()
        for task in held { #expect(try await task.value.source == .miss) }
        #expect(await cache.statistics().semanticSkips == 1, "the held misses were embedded, not skipped")

        // Below the limit again: the exact repeat is a hit; its paraphrase is
        // embedded and looked up, but the skipped entry has no vector to match.
        #expect(try await cache.response(for: try request("reset my password")) { Data("again".utf8) }.source == .hit)
        let paraphrase = try await cache.response(for: try request("reset the password")) { Data("recomputed".utf8) }
        #expect(paraphrase.source == .miss)
        #expect(embeds.count == 3)
        // The held answers were indexed with their vectors: matched by meaning.
        let heldOne = try await cache.response(for: try request("hold one again")) { Data("fresh".utf8) }
        #expect(heldOne.value == Data("held 0".utf8))
    }

    @Test func withoutALimitEveryMissWaitsForTheEmbedder() async throws {
        let gate = Gate()
        let embeds = Counter()
        let cache = LLMCache(store: DictionaryStore(clock: ManualCacheClock()), semantic: tier(gate, embeds: embeds, limit: nil), clock: ManualCacheClock())
        let held = (0..<3).map { index in
            Task { try await cache.response(for: try request("hold \(index == 0 ? "one" : "two") \(index)")) { Data("held \(index)".utf8) } }
        }
        await wait(for: gate.entered, toReach: 3)
        gate.open()
        for task in held { _ = try await task.value }
        #expect(await cache.statistics().semanticSkips == 0)
        #expect(embeds.count == 3)
    }

    @Test func theLimitIsCheckedAtTheTierToo() async throws {
        let gate = Gate()
        let embeds = Counter()
        let semantic = tier(gate, embeds: embeds, limit: 1)
        let scope = try #require(semantic.scope(of: try request("hold one"), namespace: "ns"))
        let first = Task { try await semantic.probe(scope) }
        await wait(for: gate.entered, toReach: 1)
        do {
            _ = try await semantic.probe(scope)
            Issue.record("a second text past the limit of 1 was embedded")
        } catch let error as CacheError {
            #expect(error.code == .overloaded)
            #expect(error.message.contains("maximumPendingEmbeddings"))
        }
        gate.open()
        _ = try await first.value
        // Its slot is free again.
        let again = Task { try await semantic.probe(scope) }
        #expect(try await again.value.vector == [0, 1, 0, 0])
    }
}
