import CBLAS
import CKernels
import Foundation
import LLMCache

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A BERT encoder with mean pooling and L2 normalisation: token ids in, one
/// unit vector per sequence out.
///
/// Sequences of a batch are packed one after another, with no padding: the
/// dense layers (fused Q/K/V projection, attention output, feed-forward) run as
/// one `cblas_sgemm` over every token of every sequence, and only attention,
/// which must not look across sequences, runs per sequence and head at that
/// sequence's own length. No work is spent on padding and no mask is needed.
///
/// The weights stay in the memory-mapped safetensors file, except the Q/K/V
/// matrices, which are copied once into one fused 3·hidden × hidden matrix.
///
/// Immutable after loading, so `@unchecked Sendable` is sound: the pointers
/// refer to the mapping and to `fusedStorage`, both freed only in `deinit`.
/// ``encode(_:into:)`` keeps its state in a per-call scratch buffer, so any
/// number of threads may call it at once.
final class BertModel: @unchecked Sendable {
    struct Layer {
        /// Q, K and V projections stacked: [3·hidden, hidden] and [3·hidden].
        var qkvWeight: UnsafePointer<Float>
        var qkvBias: UnsafePointer<Float>
        var attentionOutputWeight: UnsafePointer<Float>
        var attentionOutputBias: UnsafePointer<Float>
        var attentionNormWeight: UnsafePointer<Float>
        var attentionNormBias: UnsafePointer<Float>
        var intermediateWeight: UnsafePointer<Float>
        var intermediateBias: UnsafePointer<Float>
        var outputWeight: UnsafePointer<Float>
        var outputBias: UnsafePointer<Float>
        var outputNormWeight: UnsafePointer<Float>
        var outputNormBias: UnsafePointer<Float>
    }

    /// The dense weights of one layer in half precision, in panels of 32 output
    /// columns (see `ck_pack_half_panels`), for passes of fewer than ``halfWeightRows`` tokens.
    struct HalfLayer {
        var qkv: UnsafePointer<UInt16>
        var attentionOutput: UnsafePointer<UInt16>
        var intermediate: UnsafePointer<UInt16>
        var output: UnsafePointer<UInt16>
    }

    let configuration: BertConfiguration
    /// One per layer when half-precision weights are in use, else `nil`.
    let halfWeights: [HalfLayer]?
    private let halfStorage: UnsafeMutablePointer<UInt16>?
    private let file: SafeTensorsFile
    private let fusedStorage: UnsafeMutablePointer<Float>
    private let wordEmbeddings: UnsafePointer<Float>
    private let positionEmbeddings: UnsafePointer<Float>
    private let tokenTypeEmbeddings: UnsafePointer<Float>
    private let embeddingNormWeight: UnsafePointer<Float>
    private let embeddingNormBias: UnsafePointer<Float>
    private let layers: [Layer]

    init(file: SafeTensorsFile, configuration: BertConfiguration, halfWeights useHalf: Bool = false) throws {
        self.file = file
        self.configuration = configuration
        let hidden = configuration.hiddenSize
        let inner = configuration.intermediateSize
        // Checkpoints exported from BertModel have no "bert." prefix; those
        // exported from task models do. Accept both.
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func tensor(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
            try file.floats(prefix + name, shape: shape).baseAddress!
        }

        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [configuration.vocabularySize, hidden])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [configuration.maximumPositions, hidden])
        tokenTypeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [configuration.typeVocabularySize, hidden])
        embeddingNormWeight = try tensor("embeddings.LayerNorm.weight", [hidden])
        embeddingNormBias = try tensor("embeddings.LayerNorm.bias", [hidden])

        let fusedPerLayer = 3 * hidden * hidden + 3 * hidden
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: fusedPerLayer * configuration.layerCount)
        var layers: [Layer] = []
        do {
            for index in 0..<configuration.layerCount {
                let name = "encoder.layer.\(index)."
                let weight = storage + index * fusedPerLayer
                let bias = weight + 3 * hidden * hidden
                for (part, projection) in ["query", "key", "value"].enumerated() {
                    let w = try tensor(name + "attention.self.\(projection).weight", [hidden, hidden])
                    let b = try tensor(name + "attention.self.\(projection).bias", [hidden])
                    (weight + part * hidden * hidden).update(from: w, count: hidden * hidden)
                    (bias + part * hidden).update(from: b, count: hidden)
                }
                layers.append(Layer(
                    qkvWeight: UnsafePointer(weight),
                    qkvBias: UnsafePointer(bias),
                    attentionOutputWeight: try tensor(name + "attention.output.dense.weight", [hidden, hidden]),
                    attentionOutputBias: try tensor(name + "attention.output.dense.bias", [hidden]),
                    attentionNormWeight: try tensor(name + "attention.output.LayerNorm.weight", [hidden]),
                    attentionNormBias: try tensor(name + "attention.output.LayerNorm.bias", [hidden]),
                    intermediateWeight: try tensor(name + "intermediate.dense.weight", [inner, hidden]),
                    intermediateBias: try tensor(name + "intermediate.dense.bias", [inner]),
                    outputWeight: try tensor(name + "output.dense.weight", [hidden, inner]),
                    outputBias: try tensor(name + "output.dense.bias", [hidden]),
                    outputNormWeight: try tensor(name + "output.LayerNorm.weight", [hidden]),
                    outputNormBias: try tensor(name + "output.LayerNorm.bias", [hidden])
                ))
            }
        } catch {
            storage.deallocate()
            throw error
        }
        fusedStorage = storage
        self.layers = layers

        // Every output width must be a multiple of the kernels' 32 columns.
        if useHalf, hidden % 32 == 0, inner % 32 == 0 {
            let perLayer = 3 * hidden * hidden + hidden * hidden + 2 * inner * hidden
            let half = UnsafeMutablePointer<UInt16>.allocate(capacity: perLayer * layers.count)
            var converted: [HalfLayer] = []
            for (index, layer) in layers.enumerated() {
                var next = half + index * perLayer
                func convert(_ weight: UnsafePointer<Float>, outputs: Int, inner: Int) -> UnsafePointer<UInt16> {
                    let out = next
                    ck_pack_half_panels(weight, Int32(outputs), Int32(inner), out)
                    next += outputs * inner
                    return UnsafePointer(out)
                }
                converted.append(HalfLayer(
                    qkv: convert(layer.qkvWeight, outputs: 3 * hidden, inner: hidden),
                    attentionOutput: convert(layer.attentionOutputWeight, outputs: hidden, inner: hidden),
                    intermediate: convert(layer.intermediateWeight, outputs: inner, inner: hidden),
                    output: convert(layer.outputWeight, outputs: hidden, inner: inner)
                ))
            }
            halfStorage = half
            halfWeights = converted
        } else {
            halfStorage = nil
            halfWeights = nil
        }
    }

    deinit {
        fusedStorage.deallocate()
        halfStorage?.deallocate()
    }

    /// Floats of scratch that ``encode(_:into:)`` needs for `tokenCount` packed
    /// tokens whose longest sequence is `longest`.
    func scratchSize(tokenCount: Int, longest: Int) -> Int {
        let hidden = configuration.hiddenSize
        return tokenCount * (3 * hidden + 3 * hidden + configuration.intermediateSize) + longest * longest
    }

    /// Encodes `sequences` (each `[CLS] … [SEP]`, at most `maximumPositions`
    /// long, every id below the vocabulary size) into `output`, one
    /// `hiddenSize`-float unit vector per sequence, in order.
    func encode(_ sequences: [[Int32]], into output: UnsafeMutablePointer<Float>) {
        let tokenCount = sequences.reduce(0) { $0 + $1.count }
        let longest = sequences.reduce(0) { max($0, $1.count) }
        guard tokenCount > 0 else { return }
        let size = scratchSize(tokenCount: tokenCount, longest: longest)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: size)
        defer { scratch.deallocate() }
        encode(sequences, tokenCount: tokenCount, scratch: scratch, into: output)
    }

    private func encode(_ sequences: [[Int32]], tokenCount: Int, scratch: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let hidden = configuration.hiddenSize
        let inner = configuration.intermediateSize
        let heads = configuration.headCount
        let headSize = configuration.headSize
        let epsilon = configuration.layerNormEpsilon
        let t = tokenCount

        var current = scratch
        var other = current + t * hidden
        let qkv = other + t * hidden
        let context = qkv + t * 3 * hidden
        let intermediate = context + t * hidden
        let scores = intermediate + t * inner

        // Embeddings: word + position + token type 0, then LayerNorm.
        var row = 0
        for sequence in sequences {
            for (position, id) in sequence.enumerated() {
                addThree(
                    wordEmbeddings + Int(id) * hidden, positionEmbeddings + position * hidden, tokenTypeEmbeddings,
                    count: hidden, into: current + row * hidden
                )
                row += 1
            }
        }
        layerNorm(current, rows: t, width: hidden, weight: embeddingNormWeight, bias: embeddingNormBias, epsilon: epsilon)

        let scale = 1 / Float(headSize).squareRoot()
        let half = t < Self.halfWeightRows ? halfWeights : nil
        for (index, layer) in layers.enumerated() {
            let halfLayer = half?[index]
            // Q, K and V of every token in one product.
            fillRows(qkv, rows: t, width: 3 * hidden, with: layer.qkvBias)
            multiply(current, rows: t, inner: hidden, by: layer.qkvWeight, half: halfLayer?.qkv, outputs: 3 * hidden, into: qkv, accumulate: true)

            // Attention within each sequence, per head.
            var start = 0
            for sequence in sequences {
                let length = sequence.count
                let block = qkv + start * 3 * hidden
                for head in 0..<heads {
                    let q = block + head * headSize
                    let k = block + hidden + head * headSize
                    let v = block + 2 * hidden + head * headSize
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans,
                        Int32(length), Int32(length), Int32(headSize),
                        scale, q, Int32(3 * hidden), k, Int32(3 * hidden),
                        0, scores, Int32(length)
                    )
                    softmaxRows(scores, rows: length, width: length)
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(length), Int32(headSize), Int32(length),
                        1, scores, Int32(length), v, Int32(3 * hidden),
                        0, context + start * hidden + head * headSize, Int32(hidden)
                    )
                }
                start += length
            }

            // Attention output projection on top of the residual, then LayerNorm.
            addRows(current, bias: layer.attentionOutputBias, rows: t, width: hidden, into: other)
            multiply(context, rows: t, inner: hidden, by: layer.attentionOutputWeight, half: halfLayer?.attentionOutput, outputs: hidden, into: other, accumulate: true)
            layerNorm(other, rows: t, width: hidden, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, epsilon: epsilon)
            swap(&current, &other)

            // Feed-forward: hidden → inner with GELU → hidden, residual, LayerNorm.
            fillRows(intermediate, rows: t, width: inner, with: layer.intermediateBias)
            multiply(current, rows: t, inner: hidden, by: layer.intermediateWeight, half: halfLayer?.intermediate, outputs: inner, into: intermediate, accumulate: true)
            gelu(intermediate, count: t * inner)
            addRows(current, bias: layer.outputBias, rows: t, width: hidden, into: other)
            multiply(intermediate, rows: t, inner: inner, by: layer.outputWeight, half: halfLayer?.output, outputs: hidden, into: other, accumulate: true)
            layerNorm(other, rows: t, width: hidden, weight: layer.outputNormWeight, bias: layer.outputNormBias, epsilon: epsilon)
            swap(&current, &other)
        }

        // Mean over each sequence's tokens (all real: nothing is padded), then
        // scale to unit length.
        var start = 0
        for (index, sequence) in sequences.enumerated() {
            let vector = output + index * hidden
            vector.initialize(repeating: 0, count: hidden)
            for token in start..<(start + sequence.count) {
                let source = current + token * hidden
                for i in 0..<hidden { vector[i] += source[i] }
            }
            let inverse = 1 / Float(sequence.count)
            var norm: Float = 0
            for i in 0..<hidden {
                vector[i] *= inverse
                norm += vector[i] * vector[i]
            }
            // sentence-transformers' Normalize divides by max(norm, 1e-12).
            let divisor = 1 / max(norm.squareRoot(), 1e-12)
            for i in 0..<hidden { vector[i] *= divisor }
            start += sequence.count
        }
    }

    /// Passes of fewer tokens than this use ``halfWeights`` when there are any:
    /// the half-precision kernels are faster than OpenBLAS at every such size,
    /// and from 512 rows on the two run alike, so longer passes keep the
    /// full-precision weights (docs/EMBEDDINGS.md, "How it works").
    static let halfWeightRows = 128
    /// Below this many rows, products are split into column blocks (see ``multiply``).
    static let narrowRows = 24
    /// Output columns per block for narrow products; divides 384, 1152 and 1536.
    static let columnBlock = 96

    /// `output[rows × outputs] (+)= input[rows × inner] · weightᵀ`, the weight
    /// stored as PyTorch's Linear does: [outputs, inner], row-major.
    ///
    /// For a few rows (one short sentence) the cost is reading the weights, and
    /// OpenBLAS's blocked path first copies the whole weight matrix into a
    /// packed buffer. Products of at most ~1M multiply-adds take its "small
    /// matrix" path, which reads operands in place, so narrow products are
    /// issued as blocks of `columnBlock` output columns, which shortens a short
    /// sentence's pass (docs/benchmarks/log.md, 2026-11-26).
    ///
    /// With `half` (the same weight from ``halfWeights``), the product runs in
    /// the half-precision-weight kernel instead.
    @inline(__always)
    private func multiply(
        _ input: UnsafePointer<Float>, rows: Int, inner: Int, by weight: UnsafePointer<Float>, half: UnsafePointer<UInt16>?, outputs: Int,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        if let half {
            ck_gemm_half_weights(Int32(rows), Int32(outputs), Int32(inner), input, Int32(inner), half, output, Int32(outputs), accumulate ? 1 : 0)
            return
        }
        let beta: Float = accumulate ? 1 : 0
        if rows < Self.narrowRows, outputs % Self.columnBlock == 0 {
            for start in stride(from: 0, to: outputs, by: Self.columnBlock) {
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans,
                    Int32(rows), Int32(Self.columnBlock), Int32(inner),
                    1, input, Int32(inner), weight + start * inner, Int32(inner),
                    beta, output + start, Int32(outputs)
                )
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans,
            Int32(rows), Int32(outputs), Int32(inner),
            1, input, Int32(inner), weight, Int32(inner),
            beta, output, Int32(outputs)
        )
    }
}
