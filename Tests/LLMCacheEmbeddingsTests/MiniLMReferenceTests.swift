import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

/// The native model against sentence-transformers' own outputs for 31 hard
/// texts (accents, CJK, emoji, code, empty, over-long…).
@Suite struct MiniLMReferenceTests {
    @Test func referenceFixtureIsPresent() {
        #expect(FileManager.default.fileExists(atPath: Fixtures.referencePath), "reference fixture missing at \(Fixtures.referencePath)")
        #expect(Fixtures.referenceCases.count == 31)
    }

    @Test(arguments: Fixtures.referenceCases)
    func tokenIDsMatchSentenceTransformers(_ reference: ReferenceCase) throws {
        let embedder = try Fixtures.embedder()
        #expect(embedder.tokenIDs(reference.text) == reference.input_ids)
    }

    @Test(arguments: Fixtures.referenceCases)
    func embeddingMatchesSentenceTransformers(_ reference: ReferenceCase) async throws {
        let embedder = try Fixtures.embedder()
        let vector = try await embedder.embed(reference.text)
        #expect(vector.count == 384)
        #expect(reference.embedding.count == 384)
        let similarity = cosine(vector, reference.embedding)
        #expect(similarity >= 0.9999, "cosine \(similarity)")
        let largestDifference = zip(vector, reference.embedding).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largestDifference < 1e-4, "max abs difference \(largestDifference)")
    }

    /// Short texts take the half-precision-weight kernels where the CPU has
    /// them (in optimised builds, by default); forced here so every build checks
    /// them. Texts of 24 tokens or more take the single-precision path anyway.
    @Test(arguments: Fixtures.referenceCases)
    func halfPrecisionWeightsMatchSentenceTransformers(_ reference: ReferenceCase) async throws {
        let embedder = try Fixtures.halfPrecisionEmbedder()
        guard embedder.usesHalfPrecisionWeights else {
            // Without AVX-512 the setting falls back to single precision: the test above covers it.
            #expect(!Self.cpuHasHalfKernels)
            return
        }
        let vector = try await embedder.embed(reference.text)
        let similarity = cosine(vector, reference.embedding)
        #expect(similarity >= 0.9999, "cosine \(similarity)")
        let largestDifference = zip(vector, reference.embedding).map { abs($0 - $1) }.max() ?? .infinity
        // Rounded weights move single components a little more than the
        // single-precision path does; the direction (cosine) is what is compared.
        #expect(largestDifference < 5e-4, "max abs difference \(largestDifference)")
    }

    static var cpuHasHalfKernels: Bool {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return flags.contains(" avx512f") && flags.contains(" f16c") && flags.contains(" fma")
    }

    @Test func batchOfAllReferenceTextsMatchesToo() async throws {
        let embedder = try Fixtures.embedder()
        let cases = Fixtures.referenceCases
        let batch = try await embedder.embed(cases.map(\.text))
        #expect(batch.count == cases.count)
        for (index, reference) in cases.enumerated() {
            #expect(cosine(batch[index], reference.embedding) >= 0.9999, "case \(index) \(reference.testDescription)")
        }
    }
}
