import Foundation
import InMemoryLogging
import LLMCache
import Logging
import Synchronization
import Testing
@testable import LLMCacheRedis

/// A real Redis killed and restarted on the same port under a cache in use:
/// how soon caching comes back, and what the log says meanwhile.
@Suite(.serialized) struct OutageRecoveryTests {
    /// A cache over a tiered Redis store whose client and subscription run
    /// as the proxy runs them, with the client's default circuit breaker.
    final class Setup: Sendable {
        let server: RedisServer
        let client: RedisClient
        let cache: LLMCache
        let runs = Atomic<Int>(0)
        let services: Task<Void, Never>

        init(logger: Logger) async throws {
            server = try RedisServer()
            try await server.start()
            client = try RedisClient(configuration: server.configuration(), logger: logger)
            let tiered = TieredStore(memory: MemoryStore(), redis: try RedisStore(client: client, logger: logger), logger: logger)
            cache = LLMCache(store: tiered, logger: logger)
            let client = client
            services = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await client.run() }
                    group.addTask { try? await tiered.run() }
                }
            }
        }

        /// One call of a memoized function with a fresh argument, twice: whether
        /// the second call was answered by the cache (computed once, not twice).
        func cachingWorks(_ argument: Int) async throws -> Bool {
            let before = runs.load(ordering: .relaxed)
            let remember = cache.memoize("square", ttl: .seconds(60)) { (x: Int) in
                self.runs.add(1, ordering: .relaxed)
                return x * x
            }
            #expect(try await remember(argument) == argument * argument)
            #expect(try await remember(argument) == argument * argument)
            return runs.load(ordering: .relaxed) - before == 1
        }

        /// Keeps calling for `duration`, as traffic would during an outage; returns the calls made.
        @discardableResult
        func traffic(for duration: Duration, from first: Int) async throws -> Int {
            let end = ContinuousClock.now + duration
            var argument = first
            while ContinuousClock.now < end {
                _ = try await cachingWorks(argument)
                argument += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            return argument - first
        }

        /// Polls until caching works again; returns how long that took.
        func timeToRecover(from first: Int, giveUpAfter limit: Duration = .seconds(30)) async throws -> Duration? {
            let start = ContinuousClock.now
            var argument = first
            while ContinuousClock.now - start < limit {
                if try await cachingWorks(argument) { return ContinuousClock.now - start }
                argument += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            return nil
        }

        func stop() async {
            services.cancel()
            await services.value
            server.stop()
        }
    }

    @Test func cachingResumesWithinTwoSecondsOfARestartedRedisAnsweringAgain() async throws {
        let setup = try await Setup(logger: Logger(label: "recovery") { _ in SwiftLogNoOpLogHandler() })
        #expect(try await setup.cachingWorks(1))
        setup.server.kill()
        // Five seconds of traffic against a dead server: long enough that
        // probing by commands alone would have backed off to a probe every
        // four seconds, so a fast recovery here is the background probe's.
        try await setup.traffic(for: .seconds(5), from: 1_000)
        #expect(!setup.cache.storeHealth.isAvailable)
        // start() returns once a fresh connection has had its PING answered:
        // the clock starts when Redis answers again.
        try await setup.server.start()
        let recovery = try await setup.timeToRecover(from: 100_000)
        #expect(recovery != nil, "caching never resumed after Redis came back")
        if let recovery {
            #expect(recovery <= .seconds(2), "caching resumed \(recovery) after Redis answered again; the requirement is at most 2 s")
        }
        #expect(setup.client.isReachable)
        #expect(setup.cache.storeHealth.isAvailable)
        await setup.stop()
    }

    /// A hung server (SIGSTOP) accepts connections and answers nothing: the
    /// breaker opens on time-outs, and the probe in flight when the server
    /// wakes up is answered at once.
    @Test func cachingResumesWithinTwoSecondsOfAHungRedisAnsweringAgain() async throws {
        let setup = try await Setup(logger: Logger(label: "recovery") { _ in SwiftLogNoOpLogHandler() })
        #expect(try await setup.cachingWorks(1))
        setup.server.pause(true)
        // Each call waits out the store time-out (2 s) until the breaker opens.
        try await setup.traffic(for: .seconds(8), from: 1_000)
        #expect(!setup.client.isReachable, "the client did not notice that Redis hung")
        setup.server.pause(false)
        try await setup.server.waitUntilAnswering()
        let recovery = try await setup.timeToRecover(from: 100_000)
        #expect(recovery != nil, "caching never resumed after Redis woke up")
        if let recovery {
            #expect(recovery <= .seconds(2), "caching resumed \(recovery) after Redis answered again; the requirement is at most 2 s")
        }
        await setup.stop()
    }

    @Test func anOutageIsLoggedOnceWhenItBeginsAndOnceWhenItEndsNotOncePerRequest() async throws {
        let capture = InMemoryLogHandler()
        let setup = try await Setup(logger: Logger(label: "test") { _ in capture })
        #expect(try await setup.cachingWorks(1))
        let before = capture.entries.count
        setup.server.kill()
        let calls = try await setup.traffic(for: .seconds(3), from: 1_000)
        try await setup.server.start()
        #expect(try await setup.timeToRecover(from: 100_000) != nil, "caching never resumed after Redis came back")
        try await setup.traffic(for: .milliseconds(500), from: 200_000)
        await setup.stop()

        let lines = capture.entries.dropFirst(before).filter { $0.level >= .notice }
        let summary = lines.map { "\($0.level) \($0.message)" }.joined(separator: "\n")
        #expect(calls >= 10, "too few calls to tell one line per outage from one per call")
        let warnings = lines.filter { $0.level >= .warning }
        #expect(warnings.count == 1, "expected one warning for the outage, got \(warnings.count) over \(calls) calls:\n\(summary)")
        #expect(warnings.first?.message.description.contains("cache store unavailable") == true, "\(summary)")
        #expect(lines.filter { $0.message.description.contains("cache store available again") }.count == 1, "\(summary)")
        // Each layer says once that it lost Redis and once that it is back
        // (client, invalidation subscription, cache): a handful of lines,
        // however many calls failed.
        #expect(lines.count <= 6, "\(lines.count) lines at notice and above for one outage of \(calls) calls:\n\(summary)")
        #expect(setup.cache.storeHealth.outages == 1)
    }
}
