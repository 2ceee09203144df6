import CBLAS
import Dispatch
import Foundation
import LLMCache

/// Sentence embeddings from all-MiniLM-L6-v2 (or any BERT sentence-transformers
/// model with mean pooling), computed in-process: WordPiece tokenization, the
/// BERT encoder on CBLAS (OpenBLAS), mean pooling and L2 normalisation — the
/// same vectors sentence-transformers gives, without Python.
///
/// Thread-safe: the weights are immutable and every call has its own buffers.
/// A batch is split across ``Configuration/threads`` workers, each running
/// single-threaded BLAS; work runs on Dispatch threads, not on Swift's
/// cooperative pool, so embedding never starves other tasks.
public final class MiniLMEmbedder: Embedder {
    /// Settings. Every default is stated on its property.
    public struct Configuration: Sendable {
        /// Workers for one batch. Default: the number of processors.
        public var threads: Int
        /// The most tokens per text, `[CLS]` and `[SEP]` included; longer texts are
        /// truncated. Default: the model's `max_seq_length` (256 for all-MiniLM-L6-v2).
        public var maximumLength: Int?

        public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, maximumLength: Int? = nil) {
            self.threads = max(1, threads)
            self.maximumLength = maximumLength
        }
    }

    /// The identifier recorded with vectors: the model's name.
    public let modelIdentifier: String
    public var dimension: Int { model.configuration.hidden }
    /// The folder the model was loaded from.
    public let directory: String
    public let configuration: Configuration
    /// The tokenizer in use.
    public let tokenizer: WordPieceTokenizer
    let model: BertModel

    private static let singleThreadedBLAS: Void = {
        // Parallelism comes from splitting batches across workers; BLAS's own
        // threads would fight them for the same cores.
        openblas_set_num_threads(1)
    }()

    /// Loads the model from `directory`, or from where ``ModelLocator`` finds it.
    public init(directory explicit: String? = nil, configuration: Configuration = Configuration()) throws {
        _ = Self.singleThreadedBLAS
        let folder = try ModelLocator.resolve(explicit)
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        var maximumLength = configuration.maximumLength ?? 256
        if configuration.maximumLength == nil, let data = FileManager.default.contents(atPath: file("sentence_bert_config.json")),
           let length = (try? JSONValue(parsing: data))?["max_seq_length"]?.numberValue?.intValue {
            maximumLength = length
        }
        let bert = try BertConfiguration(file: file("config.json"))
        guard maximumLength >= 2, maximumLength <= bert.positions else {
            throw CacheError(.invalidConfiguration, "maximum length \(maximumLength) must be between 2 and the model's \(bert.positions) positions")
        }
        tokenizer = try WordPieceTokenizer(vocabularyFile: file("vocab.txt"), maximumLength: maximumLength)
        model = try BertModel(file: try SafeTensorsFile(path: file("model.safetensors")), configuration: bert)
        directory = folder
        self.configuration = configuration
        modelIdentifier = Self.identifier(of: folder)
    }

    /// "sentence-transformers/all-MiniLM-L6-v2" for the standard folder; the
    /// folder's name otherwise.
    static func identifier(of folder: String) -> String {
        let name = (folder as NSString).lastPathComponent
        if name.lowercased().contains("minilm-l6-v2") || name == "model" { return "sentence-transformers/all-MiniLM-L6-v2" }
        return name
    }

    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let tokenized = texts.map(tokenizer.encode)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: self.embedTokenized(tokenized))
            }
        }
    }

    /// Embeds on the calling thread; for benchmarks and command-line tools.
    public func embedNow(_ texts: [String]) -> EmbeddingBatch {
        embedTokenized(texts.map(tokenizer.encode))
    }

    /// Floating-point operations needed to embed these texts.
    public func flops(_ texts: [String]) -> Double {
        model.flops(lengths: texts.map { tokenizer.encode($0).count })
    }

    func embedTokenized(_ sentences: [[Int32]]) -> EmbeddingBatch {
        let h = dimension
        var output = [Float](repeating: 0, count: sentences.count * h)
        guard !sentences.isEmpty else { return EmbeddingBatch(dimension: h, values: []) }
        let chunks = Self.partition(sentences.map(\.count), into: min(configuration.threads, sentences.count))
        output.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            // Each worker writes only its own rows of `output`.
            nonisolated(unsafe) let rows = base
            if chunks.count == 1 {
                model.embed(sentences, into: rows)
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks.count) { worker in
                    let indexes = chunks[worker]
                    var local = [Float](repeating: 0, count: indexes.count * h)
                    local.withUnsafeMutableBufferPointer { model.embed(indexes.map { sentences[$0] }, into: $0.baseAddress!) }
                    for (position, index) in indexes.enumerated() {
                        for i in 0..<h { rows[index * h + i] = local[position * h + i] }
                    }
                }
            }
        }
        return EmbeddingBatch(dimension: h, values: output)
    }

    /// Splits sentence indexes into `parts` groups of near-equal work, the
    /// longest sentences placed first (attention grows with length squared).
    static func partition(_ lengths: [Int], into parts: Int) -> [[Int]] {
        guard parts > 1 else { return [Array(lengths.indices)] }
        var groups = [[Int]](repeating: [], count: parts)
        var load = [Int](repeating: 0, count: parts)
        for index in lengths.indices.sorted(by: { lengths[$0] > lengths[$1] }) {
            let target = load.indices.min { load[$0] < load[$1] }!
            groups[target].append(index)
            load[target] += lengths[index] * (lengths[index] + 64)
        }
        return groups.filter { !$0.isEmpty }
    }
}
