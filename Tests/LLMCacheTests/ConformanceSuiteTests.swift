import LLMCacheConformance
import Testing
@testable import LLMCache

/// The conformance suite run against the reference store, so a failing backend
/// points at the backend rather than at the suite.
@Suite struct ConformanceSuiteTests {
    @Test(arguments: ConformanceCase.all)
    func referenceStoreConforms(_ check: ConformanceCase) async throws {
        let clock = ManualCacheClock()
        let store = DictionaryStore(clock: clock, maximumEntryWeight: 1 << 20)
        try await check.run(StoreHarness(store: store, clock: clock, maximumEntryWeight: 1 << 20) { clock.advance(by: $0) })
    }
}
