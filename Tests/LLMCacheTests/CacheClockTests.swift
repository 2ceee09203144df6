import Testing

@testable import LLMCache

@Suite struct CacheClockTests {
    /// A hit tests expiry against `coarseNow()`: were it ever ahead of the real
    /// time, entries would vanish before their time to live ran out.
    @Test func theSystemClocksCoarseReadingNeverLeadsAndTrailsByLessThanATick() {
        let clock = SystemCacheClock()
        var smallestLag = Int64.max
        for _ in 0..<1_000 {
            let coarse = clock.coarseNow().nanosecondsSinceEpoch
            let precise = clock.now().nanosecondsSinceEpoch
            #expect(coarse <= precise)
            smallestLag = min(smallestLag, precise - coarse)
        }
        // Linux ticks every 1 to 10 ms; the lag between two reads in a row can
        // be longer only when the thread is preempted between them, so the
        // smallest of many is a tick at most.
        #expect(smallestLag < 10_000_000)
    }

    @Test func aClockWithoutACoarseReadingUsesItsPreciseOne() {
        let clock = ManualCacheClock()
        #expect(clock.coarseNow() == clock.now())
        clock.advance(by: .milliseconds(1))
        #expect(clock.coarseNow() == clock.now())
    }
}
