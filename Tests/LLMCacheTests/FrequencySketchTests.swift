import Testing
@testable import LLMCache

@Suite struct FrequencySketchTests {
    /// Feeds keys never seen before, one use each, until the sketch halves its
    /// recent counts once more. First sightings only touch the doorkeeper, so
    /// they count towards the sample period without raising anyone's counters.
    private func ageOnce(_ sketch: inout FrequencySketch, fresh: inout UInt64) {
        let target = sketch.agings + 1
        while sketch.agings < target {
            fresh &+= 0x9e37_79b9_7f4a_7c15
            sketch.increment(fresh)
        }
    }

    @Test func countsUsesFromTheSecondOnAndTheDoorkeeperAddsTheFirst() {
        var sketch = FrequencySketch(capacity: 1024)
        let key: UInt64 = 42
        #expect(sketch.frequency(key).recent == 0)
        sketch.increment(key)
        #expect(sketch.frequency(key) == (recent: 1, longTerm: 0))
        for _ in 0..<7 { sketch.increment(key) }
        #expect(sketch.frequency(key) == (recent: 8, longTerm: 7))
    }

    @Test func theRecentCountFadesEachPeriodAndTheLongTermCountEverySixteenth() {
        var sketch = FrequencySketch(capacity: 1024)
        var fresh: UInt64 = 7
        let key: UInt64 = 42
        for _ in 0..<16 { sketch.increment(key) }
        #expect(sketch.frequency(key) == (recent: 16, longTerm: 15))

        ageOnce(&sketch, fresh: &fresh)
        // The doorkeeper is cleared and the counter halved: 15 / 2.
        #expect(sketch.frequency(key) == (recent: 7, longTerm: 15))
        for _ in 2...15 { ageOnce(&sketch, fresh: &fresh) }
        #expect(sketch.frequency(key) == (recent: 0, longTerm: 15))
        ageOnce(&sketch, fresh: &fresh)
        #expect(sketch.frequency(key) == (recent: 0, longTerm: 7))
    }

    @Test func countersStopAtFifteen() {
        var sketch = FrequencySketch(capacity: 64)
        for _ in 0..<40 { sketch.increment(9) }
        #expect(sketch.frequency(9) == (recent: 16, longTerm: 15))
    }
}
