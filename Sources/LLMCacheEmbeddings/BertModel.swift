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
/// number of threads may call it at once; one pass may also be shared by
/// several threads, each taking a share of its rows (``Pass``).
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

    /// The dense weights of one layer in half precision, in panels of 32 (AVX-512)
    /// or 16 (AVX2) output columns (see `ck_pack_half_panels`), for lanes of
    /// fewer than ``halfWeightRows`` rows.
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

    /// Loads the weights; `halfWeightRows` > 0 also makes the half-precision
    /// copy, for lanes of fewer rows than that (see ``ProductKernels``).
    init(file: SafeTensorsFile, configuration: BertConfiguration, halfWeightRows: Int = 0) throws {
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

        // Every output width must be a multiple of the kernels' panel width.
        let panel = Int(ck_half_panel_width())
        if halfWeightRows > 0, panel > 0, hidden % panel == 0, inner % panel == 0 {
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
            self.halfWeightRows = halfWeightRows
        } else {
            halfStorage = nil
            halfWeights = nil
            self.halfWeightRows = 0
        }
    }

    deinit {
        fusedStorage.deallocate()
        halfStorage?.deallocate()
    }

    /// One forward pass over packed sequences, shared by ``lanes`` threads
    /// that each call ``encode(_:lane:into:)``: its scratch memory and the
    /// barrier at which the lanes meet.
    ///
    /// Lane `l` owns the rows `tokenCount·l/lanes ..< tokenCount·(l+1)/lanes`
    /// of every buffer. Everything but attention is row by row, so the lanes
    /// meet only where attention needs every row's keys and values: once per
    /// layer, after the Q/K/V product, and once before pooling. Q/K/V go to
    /// one of two buffers by layer parity, so a lane may write the next
    /// layer's while another still reads this one's.
    ///
    /// `@unchecked Sendable`: the scratch is written by the lanes in disjoint
    /// rows, or read after a barrier; it is freed in `deinit`, after every
    /// lane has returned.
    final class Pass: @unchecked Sendable {
        let sequences: [[Int32]]
        let tokenCount: Int
        let longest: Int
        let lanes: Int
        let barrier: LaneBarrier
        fileprivate let scratch: UnsafeMutablePointer<Float>

        init(_ sequences: [[Int32]], lanes: Int, model: BertModel) {
            self.sequences = sequences
            tokenCount = sequences.reduce(0) { $0 + $1.count }
            longest = sequences.reduce(0) { max($0, $1.count) }
            self.lanes = max(1, min(lanes, tokenCount))
            barrier = LaneBarrier(parties: self.lanes)
            scratch = .allocate(capacity: max(1, model.scratchSize(tokenCount: tokenCount, longest: longest, lanes: self.lanes)))
        }

        deinit { scratch.deallocate() }
    }

    /// Floats of scratch one pass needs for `tokenCount` packed tokens whose
    /// longest sequence is `longest`, run by `lanes` threads: two hidden-state
    /// buffers, the attention context, two Q/K/V buffers, the feed-forward
    /// activations, and each lane's attention scores.
    func scratchSize(tokenCount: Int, longest: Int, lanes: Int = 1) -> Int {
        let hidden = configuration.hiddenSize
        return tokenCount * (3 * hidden + 6 * hidden + configuration.intermediateSize) + lanes * longest * longest
    }

    /// Encodes `sequences` (each `[CLS] … [SEP]`, at most `maximumPositions`
    /// long, every id below the vocabulary size) into `output`, one
    /// `hiddenSize`-float unit vector per sequence, in order, on the calling thread.
    func encode(_ sequences: [[Int32]], into output: UnsafeMutablePointer<Float>) {
        let pass = Pass(sequences, lanes: 1, model: self)
        guard pass.tokenCount > 0 else { return }
        encode(pass, lane: 0, into: output)
    }

    /// Lane `lane`'s share of `pass`; every lane of the pass must be called,
    /// each on a thread of its own, and `output` (one vector per sequence) is
    /// complete when all have returned.
    func encode(_ pass: Pass, lane: Int, into output: UnsafeMutablePointer<Float>) {
        let hidden = configuration.hiddenSize
        let inner = configuration.intermediateSize
        let heads = configuration.headCount
        let headSize = configuration.headSize
        let epsilon = configuration.layerNormEpsilon
        let t = pass.tokenCount
        guard t > 0 else { return }
        let first = t * lane / pass.lanes
        let last = t * (lane + 1) / pass.lanes
        let rows = last - first

        var current = pass.scratch
        var other = current + t * hidden
        let context = other + t * hidden
        let qkvBuffers = (context + t * hidden, context + t * 4 * hidden)
        let intermediate = context + t * 7 * hidden
        let scores = intermediate + t * inner + lane * pass.longest * pass.longest

        // Embeddings: word + position + token type 0, then LayerNorm.
        var row = 0
        for sequence in pass.sequences {
            if row >= last { break }
            if row + sequence.count > first {
                for position in max(0, first - row)..<min(sequence.count, last - row) {
                    addThree(
                        wordEmbeddings + Int(sequence[position]) * hidden, positionEmbeddings + position * hidden, tokenTypeEmbeddings,
                        count: hidden, into: current + (row + position) * hidden
                    )
                }
            }
            row += sequence.count
        }
        layerNorm(current + first * hidden, rows: rows, width: hidden, weight: embeddingNormWeight, bias: embeddingNormBias, epsilon: epsilon)

        let scale = 1 / Float(headSize).squareRoot()
        // By this lane's rows: each lane reads every weight, so a lane of a
        // few dozen rows is as weight-bound as a short pass.
        let half = rows < halfWeightRows ? halfWeights : nil
        for (index, layer) in layers.enumerated() {
            let halfLayer = half?[index]
            let qkv = index % 2 == 0 ? qkvBuffers.0 : qkvBuffers.1
            // Q, K and V of this lane's tokens in one product.
            fillRows(qkv + first * 3 * hidden, rows: rows, width: 3 * hidden, with: layer.qkvBias)
            multiply(current + first * hidden, rows: rows, inner: hidden, by: layer.qkvWeight, half: halfLayer?.qkv, outputs: 3 * hidden, into: qkv + first * 3 * hidden, accumulate: true)
            pass.barrier.wait()

            // Attention of this lane's tokens to every token of their sequence, per head.
            var start = 0
            for sequence in pass.sequences {
                let length = sequence.count
                let low = max(start, first)
                let high = min(start + length, last)
                if low < high {
                    let block = qkv + start * 3 * hidden
                    let queries = high - low
                    for head in 0..<heads {
                        let q = qkv + low * 3 * hidden + head * headSize
                        let k = block + hidden + head * headSize
                        let v = block + 2 * hidden + head * headSize
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans,
                            Int32(queries), Int32(length), Int32(headSize),
                            scale, q, Int32(3 * hidden), k, Int32(3 * hidden),
                            0, scores, Int32(length)
                        )
                        softmaxRows(scores, rows: queries, width: length)
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            Int32(queries), Int32(headSize), Int32(length),
                            1, scores, Int32(length), v, Int32(3 * hidden),
                            0, context + low * hidden + head * headSize, Int32(hidden)
                        )
                    }
                }
                start += length
            }

            // Attention output projection on top of the residual, then LayerNorm.
            addRows(current + first * hidden, bias: layer.attentionOutputBias, rows: rows, width: hidden, into: other + first * hidden)
            multiply(context + first * hidden, rows: rows, inner: hidden, by: layer.attentionOutputWeight, half: halfLayer?.attentionOutput, outputs: hidden, into: other + first * hidden, accumulate: true)
            layerNorm(other + first * hidden, rows: rows, width: hidden, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, epsilon: epsilon)
            swap(&current, &other)

            // Feed-forward: hidden → inner with GELU → hidden, residual, LayerNorm.
            let activations = intermediate + first * inner
            fillRows(activations, rows: rows, width: inner, with: layer.intermediateBias)
            multiply(current + first * hidden, rows: rows, inner: hidden, by: layer.intermediateWeight, half: halfLayer?.intermediate, outputs: inner, into: activations, accumulate: true)
            gelu(activations, count: rows * inner)
            addRows(current + first * hidden, bias: layer.outputBias, rows: rows, width: hidden, into: other + first * hidden)
            multiply(activations, rows: rows, inner: inner, by: layer.outputWeight, half: halfLayer?.output, outputs: hidden, into: other + first * hidden, accumulate: true)
            layerNorm(other + first * hidden, rows: rows, width: hidden, weight: layer.outputNormWeight, bias: layer.outputNormBias, epsilon: epsilon)
            swap(&current, &other)
        }

        // Pooling reads every row: the first lane does it once all are done.
        pass.barrier.wait()
        guard lane == 0 else { return }

        // Mean over each sequence's tokens (all real: nothing is padded), then
        // scale to unit length.
        var start = 0
        for (index, sequence) in pass.sequences.enumerated() {
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

    /// Lanes of fewer rows than this use ``halfWeights``, as
    /// ``ProductKernels/halfPrecisionRows`` decided; `Int.max` for every
    /// lane, 0 without half-precision weights (docs/EMBEDDINGS.md, "Choosing
    /// the kernels").
    let halfWeightRows: Int
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
