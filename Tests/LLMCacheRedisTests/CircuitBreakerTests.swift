import Testing
@testable import LLMCacheRedis

/// The breaker's decisions, driven step by step with made-up instants: no
/// server, no clock, no sleeping.
@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now

    func breaker(threshold: Int = 3) -> CircuitBreakerState {
        CircuitBreakerState(threshold: threshold, coolDown: .milliseconds(500), maximumCoolDown: .seconds(30))
    }

    @Test func opensOnceAfterTheThresholdOfConsecutiveFailures() {
        var state = breaker()
        #expect(state.failed(now: start) == .none)
        #expect(state.failed(now: start) == .none)
        #expect(state.failed(now: start) == .opened)
        #expect(state.isOpen)
        #expect(state.failed(now: start) == .none, "failures while open are not a new outage")
        #expect(state.admit(now: start + .milliseconds(100)) == .reject(retryIn: .milliseconds(400)))
    }

    @Test func aSuccessBeforeTheThresholdStartsTheCountAgain() {
        var state = breaker()
        state.failed(now: start)
        state.failed(now: start)
        #expect(state.succeeded(now: start) == .none, "a breaker that never opened reports no recovery")
        state.failed(now: start)
        state.failed(now: start)
        #expect(!state.isOpen)
    }

    @Test func theBackgroundProbeIgnoresTheCoolDownAndClosesTheBreaker() {
        var state = breaker()
        for _ in 0..<3 { state.failed(now: start) }
        // Probes fail for 40 s: the cool-down of commands has doubled far past a second...
        var now = start
        for _ in 0..<40 {
            now += .seconds(1)
            let probing = state.beginBackgroundProbe()
            #expect(probing)
            #expect(state.admit(now: now) == .reject(retryIn: .zero), "a command slipped past the probe in flight")
            let second = state.beginBackgroundProbe()
            #expect(!second, "two probes at once")
            #expect(state.failed(now: now) == .stillOpen)
        }
        guard case .reject(let retryIn) = state.admit(now: now) else {
            Issue.record("an open breaker admitted a command")
            return
        }
        #expect(retryIn > .seconds(10), "the cool-down of commands did not back off")
        // ...yet the next background probe goes out at once, and its answer closes it.
        let probing = state.beginBackgroundProbe()
        #expect(probing)
        #expect(state.succeeded(now: now + .milliseconds(5)) == .closed(outage: .seconds(40) + .milliseconds(5)))
        #expect(state.admit(now: now) == .allow)
        let probedClosed = state.beginBackgroundProbe()
        #expect(!probedClosed, "a closed breaker was probed")
    }

    @Test func aCommandProbesAfterTheCoolDownWithoutTheBackgroundProbe() {
        var state = breaker(threshold: 1)
        #expect(state.failed(now: start) == .opened)
        #expect(state.admit(now: start + .milliseconds(500)) == .probe)
        #expect(state.admit(now: start + .milliseconds(500)) == .reject(retryIn: .zero))
        #expect(state.failed(now: start + .milliseconds(500)) == .stillOpen)
        #expect(state.admit(now: start + .milliseconds(1400)) == .reject(retryIn: .milliseconds(100)), "the cool-down did not double")
        #expect(state.admit(now: start + .milliseconds(1500)) == .probe)
        state.probeAbandoned(now: start + .milliseconds(1600))
        #expect(state.admit(now: start + .milliseconds(1600)) == .probe, "a cancelled probe blocked the next one")
        #expect(state.succeeded(now: start + .seconds(2)) == .closed(outage: .seconds(2)))
        #expect(state.failed(now: start + .seconds(3)) == .opened)
        #expect(state.admit(now: start + .seconds(3) + .milliseconds(500)) == .probe, "the cool-down was not reset by the recovery")
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.999, 1.0, -1.0, 7.0])
    func theProbeDelayStaysBetweenHalfAndAllOfTheInterval(_ unit: Double) {
        let delay = CircuitBreakerState.probeDelay(interval: .seconds(1), unit: unit)
        #expect(delay >= .milliseconds(500) && delay <= .seconds(1))
    }

    @Test func theProbeDelayIsSpreadByItsRandomUnit() {
        #expect(CircuitBreakerState.probeDelay(interval: .seconds(1), unit: 0) == .milliseconds(500))
        #expect(CircuitBreakerState.probeDelay(interval: .seconds(1), unit: 0.5) == .milliseconds(750))
    }

    @Test func aNonPositiveProbeIntervalIsRefused() {
        var configuration = RedisClient.Configuration()
        configuration.circuitBreaker.probeInterval = .zero
        #expect(throws: RedisError.self) { try RedisClient(configuration: configuration) }
    }
}
