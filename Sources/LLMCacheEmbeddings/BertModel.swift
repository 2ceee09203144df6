import CBLAS
import Foundation
import LLMCache

/// The shape of a BERT encoder, read from the model's `config.json`.
struct BertConfiguration: Sendable {
    var hidden: Int
    var layers: Int
    var heads: Int
    var intermediate: Int
    var vocabulary: Int
    var positions: Int
    var typeVocabulary: Int
    var layerNormEpsilon: Float

    init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CacheError(.invalidConfiguration, "cannot read \(path); install the model with scripts/install-model.sh")
        }
        let json = try JSONValue(parsing: data)
        func int(_ name: String) throws -> Int {
            guard let value = json[name]?.numberValue?.intValue, value > 0 else {
                throw CacheError(.corruptData, "\(path) has no positive integer \(name)")
            }
            return value
        }
        hidden = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        intermediate = try int("intermediate_size")
        vocabulary = try int("vocab_size")
        positions = try int("max_position_embeddings")
        typeVocabulary = try int("type_vocab_size")
        layerNormEpsilon = Float(json["layer_norm_eps"]?.numberValue?.doubleValue ?? 1e-12)
        guard hidden % heads == 0 else { throw CacheError(.corruptData, "\(path): hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)") }
        if let activation = json["hidden_act"]?.stringValue, activation != "gelu" {
            throw CacheError(.corruptData, "\(path): activation \(activation) is not supported; this encoder implements BERT's exact GELU")
        }
    }
}

/// A BERT encoder's weights and its forward pass, on CBLAS.
///
/// Sentences of different lengths are never padded: the rows of every sentence
/// in a batch are stacked into one matrix for the dense layers (one large
/// matrix product each), and attention runs per sentence over its own tokens.
/// Immutable after loading, so one model serves any number of threads.
final class BertModel: Sendable {
    struct Layer: Sendable {
        var qkvWeight: [Float]   // [3·hidden, hidden]: query, key and value fused into one product
        var qkvBias: [Float]
        var outputWeight: [Float]
        var outputBias: [Float]
        var attentionNormWeight: [Float]
        var attentionNormBias: [Float]
        var intermediateWeight: [Float]
        var intermediateBias: [Float]
        var finalWeight: [Float]
        var finalBias: [Float]
        var finalNormWeight: [Float]
        var finalNormBias: [Float]
    }

    let configuration: BertConfiguration
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let typeEmbedding: [Float]
    let embeddingNormWeight: [Float]
    let embeddingNormBias: [Float]
    let layers: [Layer]

    init(file: SafeTensorsFile, configuration c: BertConfiguration) throws {
        configuration = c
        let h = c.hidden
        // Checkpoints exported from BertModel have bare names; from BertForX, a "bert." prefix.
        let prefix = file.tensors["embeddings.word_embeddings.weight"] != nil ? "" : "bert."
        func t(_ name: String, _ shape: [Int]) throws -> [Float] { try file.floats(prefix + name, shape: shape) }
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [c.vocabulary, h])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [c.positions, h])
        typeEmbedding = Array(try t("embeddings.token_type_embeddings.weight", [c.typeVocabulary, h])[0..<h])
        embeddingNormWeight = try t("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try t("embeddings.LayerNorm.bias", [h])
        layers = try (0..<c.layers).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(
                qkvWeight: try t(p + "attention.self.query.weight", [h, h]) + t(p + "attention.self.key.weight", [h, h]) + t(p + "attention.self.value.weight", [h, h]),
                qkvBias: try t(p + "attention.self.query.bias", [h]) + t(p + "attention.self.key.bias", [h]) + t(p + "attention.self.value.bias", [h]),
                outputWeight: try t(p + "attention.output.dense.weight", [h, h]),
                outputBias: try t(p + "attention.output.dense.bias", [h]),
                attentionNormWeight: try t(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBias: try t(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try t(p + "intermediate.dense.weight", [c.intermediate, h]),
                intermediateBias: try t(p + "intermediate.dense.bias", [c.intermediate]),
                finalWeight: try t(p + "output.dense.weight", [h, c.intermediate]),
                finalBias: try t(p + "output.dense.bias", [h]),
                finalNormWeight: try t(p + "output.LayerNorm.weight", [h]),
                finalNormBias: try t(p + "output.LayerNorm.bias", [h])
            )
        }
    }

    /// Floating-point operations of one forward pass over sentences of these lengths.
    func flops(lengths: [Int]) -> Double {
        let c = configuration
        let tokens = Double(lengths.reduce(0, +))
        let dense = 2 * tokens * Double(c.hidden) * Double(4 * c.hidden + 2 * c.intermediate)
        let attention = lengths.reduce(0.0) { $0 + 4 * Double($1 * $1) * Double(c.hidden) }
        return Double(c.layers) * (dense + attention)
    }

    /// Mean-pooled, L2-normalised embeddings of already tokenized sentences,
    /// written row by row into `output` (`sentences.count × hidden`).
    func embed(_ sentences: [[Int32]], into output: UnsafeMutablePointer<Float>) {
        let c = configuration
        let h = c.hidden, h3 = 3 * h, inner = c.intermediate, headSize = h / c.heads
        let total = sentences.reduce(0) { $0 + $1.count }
        guard total > 0 else { return }
        let longest = sentences.map(\.count).max() ?? 0
        var hidden = [Float](repeating: 0, count: total * h)
        var qkv = [Float](repeating: 0, count: total * h3)
        var context = [Float](repeating: 0, count: total * h)
        var projected = [Float](repeating: 0, count: total * h)
        var expanded = [Float](repeating: 0, count: total * inner)
        var scores = [Float](repeating: 0, count: longest * longest)
        let scale = 1 / Float(headSize).squareRoot()

        hidden.withUnsafeMutableBufferPointer { hiddenBuffer in
            let x = hiddenBuffer.baseAddress!
            // Embeddings: word + position + token type 0, then LayerNorm.
            var row = 0
            for sentence in sentences {
                for (position, id) in sentence.enumerated() {
                    let out = x + row * h
                    let word = Int(id) * h, pos = min(position, c.positions - 1) * h
                    for i in 0..<h { out[i] = wordEmbeddings[word + i] + positionEmbeddings[pos + i] + typeEmbedding[i] }
                    row += 1
                }
            }
            Self.layerNorm(x, rows: total, width: h, weight: embeddingNormWeight, bias: embeddingNormBias, epsilon: c.layerNormEpsilon)

            for layer in layers {
                qkv.withUnsafeMutableBufferPointer { qkvBuffer in
                context.withUnsafeMutableBufferPointer { contextBuffer in
                projected.withUnsafeMutableBufferPointer { projectedBuffer in
                expanded.withUnsafeMutableBufferPointer { expandedBuffer in
                scores.withUnsafeMutableBufferPointer { scoresBuffer in
                    let q = qkvBuffer.baseAddress!, ctx = contextBuffer.baseAddress!
                    let proj = projectedBuffer.baseAddress!, ffn = expandedBuffer.baseAddress!, s = scoresBuffer.baseAddress!
                    Self.linear(x, rows: total, inputs: h, weight: layer.qkvWeight, bias: layer.qkvBias, outputs: h3, into: q)
                    var offset = 0
                    for sentence in sentences {
                        let n = Int32(sentence.count)
                        let base = q + offset * h3
                        for head in 0..<c.heads {
                            let column = head * headSize
                            // scores = Q·Kᵀ / √d over this sentence's own tokens
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, Int32(headSize), scale,
                                        base + column, Int32(h3), base + h + column, Int32(h3), 0, s, n)
                            Self.softmaxRows(s, rows: Int(n), width: Int(n))
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, Int32(headSize), n, 1,
                                        s, n, base + 2 * h + column, Int32(h3), 0, ctx + offset * h + column, Int32(h))
                        }
                        offset += sentence.count
                    }
                    Self.linear(ctx, rows: total, inputs: h, weight: layer.outputWeight, bias: layer.outputBias, outputs: h, into: proj)
                    Self.addInPlace(x, proj, count: total * h)
                    Self.layerNorm(x, rows: total, width: h, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, epsilon: c.layerNormEpsilon)
                    Self.linear(x, rows: total, inputs: h, weight: layer.intermediateWeight, bias: layer.intermediateBias, outputs: inner, into: ffn)
                    Self.gelu(ffn, count: total * inner)
                    Self.linear(ffn, rows: total, inputs: inner, weight: layer.finalWeight, bias: layer.finalBias, outputs: h, into: proj)
                    Self.addInPlace(x, proj, count: total * h)
                    Self.layerNorm(x, rows: total, width: h, weight: layer.finalNormWeight, bias: layer.finalNormBias, epsilon: c.layerNormEpsilon)
                }}}}}
            }

            // Mean pooling over every token (all are real: nothing is padded), then L2.
            var offset = 0
            for (index, sentence) in sentences.enumerated() {
                let out = output + index * h
                for i in 0..<h { out[i] = 0 }
                for r in 0..<sentence.count {
                    let source = x + (offset + r) * h
                    for i in 0..<h { out[i] += source[i] }
                }
                var norm: Float = 0
                for i in 0..<h {
                    out[i] /= Float(sentence.count)
                    norm += out[i] * out[i]
                }
                let inverse = 1 / max(norm.squareRoot(), 1e-12)
                for i in 0..<h { out[i] *= inverse }
                offset += sentence.count
            }
        }
    }

    /// y = x·Wᵀ + b, with W stored [outputs, inputs] as PyTorch stores it.
    static func linear(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, weight: [Float], bias: [Float], outputs: Int, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            bias.withUnsafeBufferPointer { (y + r * outputs).update(from: $0.baseAddress!, count: outputs) }
        }
        weight.withUnsafeBufferPointer { w in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                        x, Int32(inputs), w.baseAddress!, Int32(inputs), 1, y, Int32(outputs))
        }
    }

    static func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, weight: [Float], bias: [Float], epsilon: Float) {
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = x + r * width
                    var mean: Float = 0
                    for i in 0..<width { mean += row[i] }
                    mean /= Float(width)
                    var variance: Float = 0
                    for i in 0..<width {
                        let d = row[i] - mean
                        variance += d * d
                    }
                    variance /= Float(width)
                    let inverse = 1 / (variance + epsilon).squareRoot()
                    for i in 0..<width { row[i] = (row[i] - mean) * inverse * w[i] + b[i] }
                }
            }
        }
    }

    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = x + r * width
            var largest = -Float.infinity
            for i in 0..<width { largest = max(largest, row[i]) }
            var sum: Float = 0
            for i in 0..<width {
                row[i] = expf(row[i] - largest)
                sum += row[i]
            }
            let inverse = 1 / sum
            for i in 0..<width { row[i] *= inverse }
        }
    }

    /// BERT's exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)).
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let invSqrt2: Float = 0.70710678118654752
        for i in 0..<count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + erff(v * invSqrt2))
        }
    }
}
