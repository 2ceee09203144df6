import CBLAS
import CKernels
import LLMCache

/// Which kernels multiply the model's dense layers, and up to how many rows
/// the half-precision ones take: decided once when a model loads.
///
/// OpenBLAS picks its kernel from the CPU's model number when the library is
/// loaded. On CPUs it does not know, or whose model a virtual machine masks,
/// it falls back to an older kernel: Debian's 0.3.21 runs its `Haswell`
/// (AVX2) kernel on AMD Zen 5, and its generic `Prescott` (SSE3) kernel on
/// Xeons reported as "Intel(R) Xeon(R) Processor", a quarter of the speed its
/// `SkylakeX` kernel gets there. The half-precision kernels of `CKernels`
/// choose by the CPU's features instead, so when OpenBLAS's kernel does not
/// use the widest vectors the CPU has, they take every product; when it
/// does, they take the passes they are faster on (docs/EMBEDDINGS.md,
/// "Choosing the kernels").
///
/// Some OpenBLAS kernels also compute wrong results on some processors, so
/// before a model trusts a kernel it checks one product of each against a
/// double-precision reference (``check()``).
public struct ProductKernels: Sendable, Hashable, CustomStringConvertible {
    /// The kernel OpenBLAS runs, as `openblas_get_corename()` names it
    /// (`"Haswell"`, `"SkylakeX"`, `"Prescott"`…).
    public let blasCore: String
    /// Whether that kernel uses the widest vectors this CPU has (AVX-512 on a
    /// CPU with AVX-512, AVX2 on one with AVX2).
    public let blasUsesMachineVectors: Bool
    /// The vector width of the half-precision kernels this CPU runs: 512
    /// (AVX-512), 256 (AVX2), or 0 when it runs neither.
    public let halfVectorBits: Int
    /// Passes of fewer rows (tokens) than this are multiplied by the
    /// half-precision kernels; `0` when none are, `Int.max` when all are.
    public let halfPrecisionRows: Int

    /// The longest pass one text makes: all-MiniLM-L6-v2 reads 256 tokens.
    static let longestText = 256

    /// OpenBLAS kernels built on AVX-512 (0.3.21 and later).
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    /// OpenBLAS kernels built on AVX2 and FMA, AVX-512 ones included.
    static let avx2Cores: Set<String> = avx512Cores.union(["haswell", "zen", "excavator"])

    /// The choice for this process: the OpenBLAS kernel loaded, this CPU's
    /// half-precision kernels, and `precision`. `halfFast` is whether those
    /// kernels run at full speed (an optimised build), which
    /// ``MiniLMEmbedder/Configuration/WeightPrecision/automatic`` requires.
    static func current(precision: MiniLMEmbedder.Configuration.WeightPrecision) -> ProductKernels {
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return choose(
            blasCore: core,
            halfVectorBits: Int(ck_half_panel_width()) * 16,
            halfFast: ck_half_kernels_fast() != 0,
            precision: precision
        )
    }

    /// The choice for an OpenBLAS kernel named `blasCore` beside
    /// half-precision kernels of `halfVectorBits` (0 for none).
    ///
    /// - `.single`: OpenBLAS for every product.
    /// - `.half`: the half-precision kernels for every product, where the CPU
    ///   runs them.
    /// - `.automatic`, in an optimised build on a CPU that runs them: every
    ///   product when OpenBLAS's kernel does not use the CPU's widest
    ///   vectors; otherwise, with AVX-512, passes of up to one whole text
    ///   (256 rows), where they led OpenBLAS's Cooperlake and Haswell kernels
    ///   at every size measured; with AVX2, passes of fewer than 64 rows,
    ///   beyond which OpenBLAS's Zen kernel leads.
    static func choose(
        blasCore: String, halfVectorBits: Int, halfFast: Bool, precision: MiniLMEmbedder.Configuration.WeightPrecision
    ) -> ProductKernels {
        let name = blasCore.lowercased()
        let usesMachineVectors: Bool = switch halfVectorBits {
        case 512: avx512Cores.contains(name)
        case 256: avx2Cores.contains(name)
        default: true
        }
        let rows: Int
        if halfVectorBits == 0 {
            rows = 0
        } else {
            switch precision {
            case .single: rows = 0
            case .half: rows = .max
            case .automatic:
                if !halfFast {
                    rows = 0
                } else if !usesMachineVectors {
                    rows = .max
                } else {
                    rows = halfVectorBits == 512 ? longestText + 1 : 64
                }
            }
        }
        return ProductKernels(blasCore: blasCore, blasUsesMachineVectors: usesMachineVectors, halfVectorBits: halfVectorBits, halfPrecisionRows: rows)
    }

    /// Whether any product takes the half-precision kernels.
    public var usesHalfPrecision: Bool { halfPrecisionRows > 0 }

    /// Which kernel takes which passes, in words.
    public var description: String {
        let half = halfVectorBits == 512 ? "AVX-512" : "AVX2"
        switch halfPrecisionRows {
        case 0: return "OpenBLAS \(blasCore) for every product"
        case .max: return "half-precision \(half) kernels for every product (OpenBLAS \(blasCore) for attention)"
        default: return "half-precision \(half) kernels for passes of fewer than \(halfPrecisionRows) tokens, OpenBLAS \(blasCore) for longer ones"
        }
    }

    /// Checks one product of each kernel in use against a double-precision
    /// reference: OpenBLAS's sgemm (always used, for attention at least) and,
    /// when any pass takes them, the half-precision kernels.
    ///
    /// - Throws: ``CacheError/Code/invalidConfiguration`` naming the kernel
    ///   whose product was wrong, and what to do, since embeddings computed
    ///   with it would match texts that mean different things.
    func check() throws {
        // 48 rows × 128 columns × 384: beyond OpenBLAS's small-matrix path, so
        // the blocked kernel every long pass uses is the one checked.
        let rows = 48, columns = 128, inner = 384
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        let a = (0..<(rows * inner)).map { _ in next() }
        let w = (0..<(columns * inner)).map { _ in next() }
        var exact = [Double](repeating: 0, count: rows * columns)
        var scale = [Double](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            for j in 0..<columns {
                var sum = 0.0, magnitude = 0.0
                for k in 0..<inner {
                    let product = Double(a[i * inner + k]) * Double(w[j * inner + k])
                    sum += product
                    magnitude += abs(product)
                }
                exact[i * columns + j] = sum
                scale[i * columns + j] = magnitude
            }
        }
        func worst(_ c: [Float]) -> Double {
            var worst = 0.0
            for index in c.indices {
                worst = max(worst, abs(Double(c[index]) - exact[index]) / max(scale[index], 1e-30))
            }
            return worst
        }

        var blas = [Float](repeating: 0, count: rows * columns)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(columns), Int32(inner),
            1, a, Int32(inner), w, Int32(inner), 0, &blas, Int32(columns)
        )
        // Single-precision sums of 384 terms are within about 1e-5 of their
        // magnitude; a broken kernel is off by the whole magnitude.
        let blasError = worst(blas)
        guard blasError <= 1e-4 else {
            throw CacheError(.invalidConfiguration, "OpenBLAS's \(blasCore) kernel computed a wrong matrix product on this CPU (relative error \(blasError)), so embeddings would be wrong; set OPENBLAS_CORETYPE to a kernel this CPU runs correctly (for example Haswell), or turn semantic matching off (llm-cache serve --semantic off)")
        }

        guard usesHalfPrecision else { return }
        var packed = [UInt16](repeating: 0, count: columns * inner)
        ck_pack_half_panels(w, Int32(columns), Int32(inner), &packed)
        var half = [Float](repeating: 0, count: rows * columns)
        ck_gemm_half_weights(Int32(rows), Int32(columns), Int32(inner), a, Int32(inner), packed, &half, Int32(columns), 0)
        // Weights rounded to half precision are within 2^-11 of their value.
        let halfError = worst(half)
        guard halfError <= 1e-3 else {
            throw CacheError(.invalidConfiguration, "the half-precision \(halfVectorBits == 512 ? "AVX-512" : "AVX2") kernels computed a wrong matrix product on this CPU (relative error \(halfError)); use MiniLMEmbedder.Configuration.weights = .single")
        }
    }
}
