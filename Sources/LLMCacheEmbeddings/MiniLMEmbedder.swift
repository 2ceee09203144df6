import CBLAS
import CKernels
import Foundation
import LLMCache
import Logging

/// Sentence embeddings from all-MiniLM-L6-v2 computed in-process: 384-d unit
/// vectors equal (cosine ≥ 0.9999) to those of sentence-transformers.
///
/// Loads the model from a folder found by ``ModelLocator`` (install it with
/// `scripts/install-model.sh`). Texts longer than 256 tokens are truncated, as
/// sentence-transformers does, and are read only that far;
/// ``embedsWhole(_:)`` tells which texts are (docs/EMBEDDINGS.md, "Long texts").
///
/// A batch is split into up to ``Configuration/threads`` groups of similar
/// total work that run in parallel as child tasks, each group as one unpadded
/// forward pass (see the package docs, docs/EMBEDDINGS.md). Each pass allocates
/// its own scratch memory, so the embedder is safe to call from any number of
/// tasks at once; concurrent calls share the cores through the Swift
/// concurrency thread pool.
public final class MiniLMEmbedder: Embedder {
    /// How the embedder uses the machine.
    public struct Configuration: Sendable {
        /// The most forward passes one ``embed(_:)`` call runs at once; the
        /// number of active cores by default. `1` runs a call entirely on the
        /// calling task.
        public var threads: Int
        /// The most tokens packed into one forward pass; `2048` by default
        /// (about 32 MB of scratch). Larger batches are split into several passes.
        public var maximumTokensPerPass: Int
        /// The thread count OpenBLAS is set to when the model loads, or `nil`
        /// to leave it alone; `1` by default. Process-wide: parallelism comes
        /// from ``threads`` running passes side by side, which scales better on
        /// these small matrices than OpenBLAS splitting each product, and
        /// OpenBLAS threads on top of it would only oversubscribe the cores.
        public var blasThreads: Int?
        /// Where diagnostics go; a logger labelled `llm-cache.embeddings` by default.
        public var logger: Logger
        /// How the weights are kept for short inputs. ``WeightPrecision/automatic`` by default.
        public var weights: WeightPrecision

        /// The precision of the weights used for passes of a few tokens (a short
        /// sentence), where the time goes to reading every weight once.
        public enum WeightPrecision: Sendable, Hashable {
            /// ``half`` where its kernels run at full speed (a CPU with AVX-512,
            /// FMA and F16C, and an optimised build), else ``single``.
            case automatic
            /// The model's own single-precision weights, through OpenBLAS.
            case single
            /// A second copy of the dense weights in half precision (about 21 MB),
            /// read by AVX-512 kernels, for passes whose cost is reading the
            /// weights (docs/EMBEDDINGS.md, "How it works").
            /// Arithmetic stays in single precision; embeddings move by a cosine
            /// below 1e-6. Falls back to ``single`` on CPUs without AVX-512.
            case half
        }

        /// The defaults as documented on each property, with any of them overridden.
        public init(
            threads: Int = ProcessInfo.processInfo.activeProcessorCount,
            maximumTokensPerPass: Int = 2048,
            blasThreads: Int? = 1,
            logger: Logger = Logger(label: "llm-cache.embeddings"),
            weights: WeightPrecision = .automatic
        ) {
            self.threads = threads
            self.maximumTokensPerPass = maximumTokensPerPass
            self.blasThreads = blasThreads
            self.logger = logger
            self.weights = weights
        }
    }

    /// `"sentence-transformers/all-MiniLM-L6-v2"`.
    public let modelIdentifier = "sentence-transformers/all-MiniLM-L6-v2"
    /// 384, the model's hidden size.
    public var dimension: Int { model.configuration.hiddenSize }
    /// The folder the model was loaded from.
    public let directory: String
    /// The configuration in force.
    public let configuration: Configuration
    /// Whether short inputs are multiplied by half-precision weights (see
    /// ``Configuration/WeightPrecision``).
    public var usesHalfPrecisionWeights: Bool { model.halfWeights != nil }

    let tokenizer: WordPieceTokenizer
    let model: BertModel

    /// Loads the model from `directory`, or from where ``ModelLocator`` finds it
    /// when `directory` is `nil`.
    ///
    /// - Throws: ``CacheError`` when the model is missing (the message names
    ///   `scripts/install-model.sh`), its files are malformed, or the
    ///   configuration is out of range.
    public init(directory: String? = nil, configuration: Configuration = Configuration()) throws {
        guard configuration.threads >= 1 else {
            throw CacheError(.invalidConfiguration, "MiniLMEmbedder.Configuration.threads is \(configuration.threads); use 1 or more")
        }
        if let blasThreads = configuration.blasThreads, blasThreads < 1 {
            throw CacheError(.invalidConfiguration, "MiniLMEmbedder.Configuration.blasThreads is \(blasThreads); use 1 or more, or nil to leave OpenBLAS alone")
        }
        let folder = try ModelLocator().locate(explicit: directory)
        let bert = try BertConfiguration.load(directory: folder)
        let maximumLength = try Self.maximumSequenceLength(directory: folder, limit: bert.maximumPositions)
        guard configuration.maximumTokensPerPass >= maximumLength else {
            throw CacheError(.invalidConfiguration, "MiniLMEmbedder.Configuration.maximumTokensPerPass is \(configuration.maximumTokensPerPass); use at least \(maximumLength), the longest sequence")
        }
        let tokenizer = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt", maximumLength: maximumLength)
        if let largest = tokenizer.vocabulary.values.max(), Int(largest) >= bert.vocabularySize {
            throw CacheError(.corruptData, "\(folder)/vocab.txt has ids up to \(largest) but the model embeds only \(bert.vocabularySize); the files do not belong together, reinstall with scripts/install-model.sh")
        }
        let file = try SafeTensorsFile(path: folder + "/model.safetensors")
        let halfWeights: Bool
        switch configuration.weights {
        case .automatic: halfWeights = ck_half_kernels_fast() != 0
        case .single: halfWeights = false
        case .half: halfWeights = ck_half_kernels_supported() != 0
        }
        self.model = try BertModel(file: file, configuration: bert, halfWeights: halfWeights)
        self.tokenizer = tokenizer
        self.directory = folder
        self.configuration = configuration
        if let blasThreads = configuration.blasThreads {
            openblas_set_num_threads(Int32(blasThreads))
        }
        configuration.logger.debug("loaded all-MiniLM-L6-v2", metadata: ["directory": "\(folder)", "threads": "\(configuration.threads)", "half-precision weights": "\(halfWeights)"])
    }

    /// The token ids of `text` as the model sees them: `[CLS]`, word pieces,
    /// `[SEP]`, at most 256 in all.
    public func tokenIDs(_ text: String) -> [Int32] {
        tokenizer.encode(text)
    }

    /// Whether the model reads all of `text`: `false` when it has more than
    /// 254 word pieces (256 tokens with `[CLS]` and `[SEP]`), of which the
    /// model sees only the first 254, so that texts which differ only after
    /// them get one vector. Reads the text only as far as the 255th piece.
    public func embedsWhole(_ text: String) -> Bool {
        !tokenizer.encode(text, pieceLimit: tokenizer.maximumLength - 2).truncated
    }

    /// Embeds `texts` into L2-normalised 384-d vectors, in order.
    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let sequences = texts.map(tokenizer.encode)
        return try await embed(sequences: sequences)
    }

    /// Embeds already-tokenised sequences (each from ``tokenIDs(_:)``).
    func embed(sequences: [[Int32]]) async throws -> EmbeddingBatch {
        let hidden = dimension
        if sequences.isEmpty { return EmbeddingBatch(dimension: hidden, values: []) }
        let groups = Self.plan(lengths: sequences.map(\.count), groups: configuration.threads, maximumTokensPerPass: configuration.maximumTokensPerPass)
        let model = self.model

        if groups.count == 1 {
            var values = [Float](repeating: 0, count: sequences.count * hidden)
            values.withUnsafeMutableBufferPointer { buffer in
                Self.run(groups[0], sequences: sequences, model: model, into: buffer.baseAddress!, rowOf: { $0 })
            }
            return EmbeddingBatch(dimension: hidden, values: values)
        }

        var values = [Float](repeating: 0, count: sequences.count * hidden)
        try await withThrowingTaskGroup(of: (indices: [Int], vectors: [Float]).self) { group in
            for passes in groups {
                group.addTask {
                    try Task.checkCancellation()
                    let indices = passes.flatMap { $0 }
                    var vectors = [Float](repeating: 0, count: indices.count * hidden)
                    var position: [Int: Int] = [:]
                    for (row, index) in indices.enumerated() { position[index] = row }
                    vectors.withUnsafeMutableBufferPointer { buffer in
                        Self.run(passes, sequences: sequences, model: model, into: buffer.baseAddress!, rowOf: { position[$0]! })
                    }
                    return (indices, vectors)
                }
            }
            for try await (indices, vectors) in group {
                for (row, index) in indices.enumerated() {
                    values.replaceSubrange(index * hidden..<(index + 1) * hidden, with: vectors[row * hidden..<(row + 1) * hidden])
                }
            }
        }
        return EmbeddingBatch(dimension: hidden, values: values)
    }

    /// Runs the passes of one group, writing sequence `i`'s vector at row `rowOf(i)`.
    private static func run(_ passes: [[Int]], sequences: [[Int32]], model: BertModel, into output: UnsafeMutablePointer<Float>, rowOf: (Int) -> Int) {
        let hidden = model.configuration.hiddenSize
        for pass in passes {
            var pooled = [Float](repeating: 0, count: pass.count * hidden)
            pooled.withUnsafeMutableBufferPointer { buffer in
                model.encode(pass.map { sequences[$0] }, into: buffer.baseAddress!)
            }
            pooled.withUnsafeBufferPointer { source in
                for (row, index) in pass.enumerated() {
                    (output + rowOf(index) * hidden).update(from: source.baseAddress! + row * hidden, count: hidden)
                }
            }
        }
    }

    /// Splits sequences into at most `groups` groups of about equal work, each
    /// a list of passes of at most `maximumTokensPerPass` tokens, as indices
    /// into `lengths`.
    ///
    /// Longest first onto the least loaded group (LPT scheduling): the dense
    /// layers cost in proportion to tokens and attention to length squared, and
    /// sorting also keeps sequences of similar length in the same pass.
    static func plan(lengths: [Int], groups: Int, maximumTokensPerPass: Int) -> [[[Int]]] {
        let order = lengths.indices.sorted { lengths[$0] > lengths[$1] }
        let totalTokens = lengths.reduce(0, +)
        // A group below ~64 tokens costs more in task hand-off than it saves.
        let useful = max(1, min(groups, lengths.count, totalTokens / 64))
        var members = [[Int]](repeating: [], count: useful)
        var load = [Double](repeating: 0, count: useful)
        for index in order {
            let length = Double(lengths[index])
            let cost = length * 1_770_000 + length * length * 2_300
            let target = load.indices.min { load[$0] < load[$1] }!
            members[target].append(index)
            load[target] += cost
        }
        return members.map { group in
            var passes: [[Int]] = []
            var current: [Int] = []
            var tokens = 0
            for index in group {
                if tokens + lengths[index] > maximumTokensPerPass, !current.isEmpty {
                    passes.append(current)
                    current = []
                    tokens = 0
                }
                current.append(index)
                tokens += lengths[index]
            }
            if !current.isEmpty { passes.append(current) }
            return passes
        }
    }

    /// `max_seq_length` from `sentence_bert_config.json`, 256 if absent, never
    /// more than the model's position table.
    private static func maximumSequenceLength(directory: String, limit: Int) throws -> Int {
        let path = directory + "/sentence_bert_config.json"
        guard let data = FileManager.default.contents(atPath: path) else { return min(256, limit) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CacheError(.corruptData, "\(path) is not a JSON object; reinstall the model with scripts/install-model.sh")
        }
        guard let length = (object["max_seq_length"] as? NSNumber)?.intValue else { return min(256, limit) }
        guard length >= 2, length <= limit else {
            throw CacheError(.corruptData, "\(path) sets max_seq_length \(length), outside 2...\(limit)")
        }
        return length
    }
}
