import Foundation
import Testing
@testable import LLMCacheEmbeddings

/// The SIMD kernels that release builds run, against plain libm arithmetic.
@Suite struct VectorKernelsTests {
    static let samples: [Float] = stride(from: -12, through: 12, by: 0.01).map { Float($0) } + [-100, -88, 0, 88, 100]

    @Test func exp16MatchesLibm() {
        for start in stride(from: 0, to: Self.samples.count - 16, by: 16) {
            let input = Vector16(Self.samples[start..<(start + 16)])
            let output = exp16(input)
            for lane in 0..<16 where input[lane] > -87 && input[lane] < 88 {
                let expected = expf(input[lane])
                #expect(abs(output[lane] - expected) <= 3e-7 * expected, "exp(\(input[lane]))")
            }
        }
    }

    @Test func erf16MatchesLibm() {
        for start in stride(from: 0, to: Self.samples.count - 16, by: 16) {
            let input = Vector16(Self.samples[start..<(start + 16)])
            let output = erf16(input)
            for lane in 0..<16 {
                #expect(abs(output[lane] - erff(input[lane])) < 3e-7, "erf(\(input[lane]))")
            }
        }
    }

    @Test func simdAndScalarKernelsAgree() {
        let width = 384
        var generator = SystemRandomNumberGenerator()
        let input = (0..<(4 * width)).map { _ in Float.random(in: -6...6, using: &generator) }
        let weight = (0..<width).map { _ in Float.random(in: 0.5...1.5, using: &generator) }
        let bias = (0..<width).map { _ in Float.random(in: -1...1, using: &generator) }

        var scalar = input
        var simd = input
        scalar.withUnsafeMutableBufferPointer { a in
            simd.withUnsafeMutableBufferPointer { b in
                for i in 0..<a.count {
                    a[i] = 0.5 * a[i] * (1 + erff(a[i] * 0.70710678118654752))
                }
                geluSIMD(b.baseAddress!, count: b.count)
            }
        }
        #expect(zip(scalar, simd).allSatisfy { abs($0 - $1) < 1e-6 * max(1, abs($0)) })

        scalar = input
        simd = input
        scalar.withUnsafeMutableBufferPointer { a in
            simd.withUnsafeMutableBufferPointer { b in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { c in
                        layerNormSIMD(b.baseAddress!, rows: 4, width: width, weight: w.baseAddress!, bias: c.baseAddress!, epsilon: 1e-12)
                        for row in 0..<4 {
                            let values = Array(a[(row * width)..<((row + 1) * width)]).map(Double.init)
                            let mean = values.reduce(0, +) / Double(width)
                            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
                            for i in 0..<width {
                                a[row * width + i] = Float((values[i] - mean) / (variance + 1e-12).squareRoot()) * w[i] + c[i]
                            }
                        }
                    }
                }
            }
        }
        #expect(zip(scalar, simd).allSatisfy { abs($0 - $1) < 1e-5 })

        // Softmax over widths that are and are not multiples of 16.
        for width in [1, 7, 16, 37, 256] {
            var values = (0..<(3 * width)).map { _ in Float.random(in: -20...20, using: &generator) }
            let original = values
            values.withUnsafeMutableBufferPointer { softmaxRowsSIMD($0.baseAddress!, rows: 3, width: width) }
            for row in 0..<3 {
                let slice = original[(row * width)..<((row + 1) * width)].map(Double.init)
                let maximum = slice.max()!
                let sum = slice.map { exp($0 - maximum) }.reduce(0, +)
                for i in 0..<width {
                    #expect(abs(Double(values[row * width + i]) - exp(slice[i] - maximum) / sum) < 1e-6)
                }
            }
        }
    }
}
