import Testing
@testable import LLMCacheEmbeddings

/// Which kernels multiply the dense layers, for the kernels OpenBLAS may pick
/// on the CPUs the package meets, and parity on every kernel this machine uses.
@Suite struct ProductKernelsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let core: String
        let bits: Int
        let fast: Bool
        let precision: MiniLMEmbedder.Configuration.WeightPrecision
        let usesMachineVectors: Bool
        let rows: Int
        var testDescription: String { "\(core) beside \(bits)-bit kernels, \(precision)\(fast ? "" : ", unoptimised")" }
    }

    static let cases: [Case] = [
        // AVX-512 CPUs: OpenBLAS's own AVX-512 kernels keep the passes longer than one text.
        Case(core: "SkylakeX", bits: 512, fast: true, precision: .automatic, usesMachineVectors: true, rows: 257),
        Case(core: "Cooperlake", bits: 512, fast: true, precision: .automatic, usesMachineVectors: true, rows: 257),
        // A masked Xeon (generic Prescott) or AMD Zen 4/5 (Haswell): every product.
        Case(core: "Prescott", bits: 512, fast: true, precision: .automatic, usesMachineVectors: false, rows: .max),
        Case(core: "Haswell", bits: 512, fast: true, precision: .automatic, usesMachineVectors: false, rows: .max),
        // AVX2 CPUs: Zen's and Haswell's kernels lead from 64 rows; an SSE kernel never does.
        Case(core: "Zen", bits: 256, fast: true, precision: .automatic, usesMachineVectors: true, rows: 64),
        Case(core: "Haswell", bits: 256, fast: true, precision: .automatic, usesMachineVectors: true, rows: 64),
        Case(core: "Sandybridge", bits: 256, fast: true, precision: .automatic, usesMachineVectors: false, rows: .max),
        // No half-precision kernels, or not at full speed, or not asked for.
        Case(core: "Prescott", bits: 0, fast: false, precision: .automatic, usesMachineVectors: true, rows: 0),
        Case(core: "Prescott", bits: 0, fast: false, precision: .half, usesMachineVectors: true, rows: 0),
        Case(core: "Prescott", bits: 512, fast: false, precision: .automatic, usesMachineVectors: false, rows: 0),
        Case(core: "Prescott", bits: 512, fast: true, precision: .single, usesMachineVectors: false, rows: 0),
        Case(core: "SkylakeX", bits: 512, fast: false, precision: .half, usesMachineVectors: true, rows: .max),
    ]

    @Test(arguments: cases)
    func choosesKernelsByWhatOpenBLASPicked(_ c: Case) {
        let choice = ProductKernels.choose(blasCore: c.core, halfVectorBits: c.bits, halfFast: c.fast, precision: c.precision)
        #expect(choice.blasUsesMachineVectors == c.usesMachineVectors)
        #expect(choice.halfPrecisionRows == c.rows)
        #expect(choice.usesHalfPrecision == (c.rows > 0))
    }

    /// The check runs at every load; here it must pass on this machine for
    /// every choice, or no embedder could load.
    @Test(arguments: [MiniLMEmbedder.Configuration.WeightPrecision.automatic, .single, .half])
    func kernelsInUseComputeCorrectProducts(_ precision: MiniLMEmbedder.Configuration.WeightPrecision) throws {
        try ProductKernels.current(precision: precision).check()
    }

    @Test func embedderSaysWhichKernelsItUses() throws {
        let single = try MiniLMEmbedder(configuration: .init(weights: .single))
        #expect(single.kernels.halfPrecisionRows == 0)
        #expect(!single.usesHalfPrecisionWeights)
        #expect(single.kernels.description.contains("OpenBLAS"))
        let half = try MiniLMEmbedder(configuration: .init(weights: .half))
        #expect(half.usesHalfPrecisionWeights == (half.kernels.halfVectorBits > 0))
        #expect(half.kernels.halfPrecisionRows == (half.kernels.halfVectorBits > 0 ? .max : 0))
    }

    /// Every pass, however long, through each kernel: all reference texts in
    /// one pass of several hundred rows on one thread, with half-precision
    /// weights for every product, and with OpenBLAS for every product.
    @Test(arguments: [MiniLMEmbedder.Configuration.WeightPrecision.half, .single])
    func onePassOfEveryReferenceTextMatches(_ precision: MiniLMEmbedder.Configuration.WeightPrecision) async throws {
        let embedder = try MiniLMEmbedder(configuration: .init(threads: 1, weights: precision))
        let cases = Fixtures.referenceCases
        let rows = cases.map { embedder.tokenIDs($0.text).count }.reduce(0, +)
        #expect(rows > 256, "the pass must be longer than any one text")
        let batch = try await embedder.embed(cases.map(\.text))
        for (index, reference) in cases.enumerated() {
            let similarity = cosine(batch[index], reference.embedding)
            #expect(similarity >= 0.9999, "case \(index) \(reference.testDescription): cosine \(similarity) with \(embedder.kernels)")
        }
    }
}
