import CBLAS
import CKernels
import Foundation
import LLMCache
import Logging
import Synchronization

/// Sentence embeddings from all-MiniLM-L6-v2 computed in-process: 384-d unit
/// vectors equal (cosine ≥ 0.9999) to those of sentence-transformers.
///
/// Loads the model from a folder found by ``ModelLocator`` (install it with
/// `scripts/install-model.sh`). Texts longer than 256 tokens are truncated, as
/// sentence-transformers does, and are read only that far;
/// ``embedsWhole(_:)`` tells which texts are (docs/EMBEDDINGS.md, "Long texts").
///
/// Forward passes run on ``Configuration/threads`` threads the embedder owns,
/// never on the caller's: a pass is milliseconds of arithmetic that would
/// otherwise hold a thread of Swift's cooperative pool, on which every other
/// task of the process waits. A batch is split into up to that many groups of
/// similar total work, each group one unpadded forward pass at a time; a
/// single long text is shared by the threads that are idle (see
/// docs/EMBEDDINGS.md, "How it works" and "Where passes run"). Each pass
/// allocates its own scratch memory, so the embedder is safe to call from any
/// number of tasks at once; concurrent calls queue for its threads.
public final class MiniLMEmbedder: Embedder {
    /// How the embedder uses the machine.
    public struct Configuration: Sendable {
        /// The threads forward passes run on, shared by every call; the
        /// number of active cores by default. Also the most passes one
        /// ``embed(_:)`` call runs at once, and the most threads one long text
        /// is shared by. `1` runs every pass, one after another, on one thread.
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
        /// Which weights, and so which kernels, multiply the dense layers.
        /// ``WeightPrecision/automatic`` by default.
        public var weights: WeightPrecision

        /// The weights the dense layers are multiplied by: the model's own
        /// through OpenBLAS, or a half-precision copy through the package's
        /// AVX-512 or AVX2 kernels (docs/EMBEDDINGS.md, "How it works" and
        /// "Choosing the kernels").
        public enum WeightPrecision: Sendable, Hashable {
            /// In an optimised build on a CPU with AVX-512 or AVX2, FMA and
            /// F16C: ``half`` for every pass when OpenBLAS's kernel does not
            /// use the CPU's widest vectors, else for the passes the
            /// half-precision kernels are faster on (with AVX-512, every pass
            /// of one text; with AVX2, fewer than 64 tokens). Otherwise ``single``.
            case automatic
            /// The model's own single-precision weights, through OpenBLAS, for every pass.
            case single
            /// A second copy of the dense weights in half precision (about 21 MB),
            /// read by AVX-512 or AVX2 kernels, for every pass. Arithmetic stays
            /// in single precision; embeddings move by a cosine below 1e-6.
            /// Falls back to ``single`` on CPUs with neither.
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
    /// Whether any pass is multiplied by half-precision weights (see
    /// ``Configuration/WeightPrecision``).
    public var usesHalfPrecisionWeights: Bool { model.halfWeights != nil }
    /// Which kernels multiply the dense layers, and for which passes: chosen
    /// at load from ``Configuration/weights``, the CPU and the kernel OpenBLAS
    /// picked, each checked on one product first.
    public let kernels: ProductKernels

    let tokenizer: WordPieceTokenizer
    let model: BertModel
    private let threads: PassThreads
    private let sharing = SharingMonitor()

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
        let kernels = ProductKernels.current(precision: configuration.weights)
        try kernels.check()
        self.model = try BertModel(file: file, configuration: bert, halfWeightRows: kernels.halfPrecisionRows)
        self.kernels = kernels
        self.threads = PassThreads(count: configuration.threads, label: "embed")
        self.tokenizer = tokenizer
        self.directory = folder
        self.configuration = configuration
        if let blasThreads = configuration.blasThreads {
            openblas_set_num_threads(Int32(blasThreads))
        }
        if !kernels.blasUsesMachineVectors, kernels.usesHalfPrecision {
            // Worth knowing: everything else that uses OpenBLAS in this process runs below the CPU's speed.
            configuration.logger.notice("OpenBLAS runs its \(kernels.blasCore) kernel, which does not use this CPU's widest vectors; the model's products use its own half-precision kernels instead", metadata: ["kernels": "\(kernels)"])
        }
        configuration.logger.debug("loaded all-MiniLM-L6-v2", metadata: ["directory": "\(folder)", "threads": "\(configuration.threads)", "kernels": "\(kernels)"])
    }

    deinit { threads.stop() }

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
        let output = Rows(count: sequences.count * hidden)
        let model = self.model
        let jobs: [PassThreads.Job]
        var shared: (work: SharingMonitor.Work, lanes: Int)?
        if groups.count == 1, groups[0].count == 1, let lanes = lanes(for: groups[0][0].map { sequences[$0].count }) {
            // One pass, and threads to spare: they share its rows.
            let indices = groups[0][0]
            let pass = BertModel.Pass(indices.map { sequences[$0] }, lanes: lanes, model: model)
            let pooled = Rows(count: indices.count * hidden)
            let work = SharingMonitor.Work()
            shared = (work, pass.lanes)
            jobs = [PassThreads.Job(lanes: pass.lanes) { lane, _ in
                let cpu = SharingMonitor.threadCPU()
                model.encode(pass, lane: lane, into: pooled.base)
                work.add(SharingMonitor.threadCPU() - cpu)
                // The first lane pools, after every lane is done.
                guard lane == 0 else { return }
                for (row, index) in indices.enumerated() {
                    (output.base + index * hidden).update(from: pooled.base + row * hidden, count: hidden)
                }
            }]
        } else {
            jobs = groups.map { passes in
                PassThreads.Job(lanes: 1) { _, isCancelled in
                    for pass in passes where !isCancelled() {
                        Self.run(pass, sequences: sequences, model: model, into: output.base)
                    }
                }
            }
        }
        try await threads.run(jobs)
        if let shared { sharing.finish(shared.work, lanes: shared.lanes) }
        return EmbeddingBatch(dimension: hidden, values: Array(UnsafeBufferPointer(start: output.base, count: sequences.count * hidden)))
    }

    /// How many threads share a pass over sequences of `lengths`, or `nil`
    /// for one: a pass of ``splitTokens`` tokens or more is shared by as many
    /// threads as are idle now (at most ``Configuration/threads``), each
    /// taking at least ``splitTokens``/2 of its rows.
    ///
    /// Only idle threads are asked for: a lane waiting in the queue behind
    /// another call's pass would hold its partner at the first barrier, a
    /// core idle, for as long as that pass runs. Under load every pass
    /// therefore runs on one thread, which keeps the cores doing the most
    /// passes per second; alone, a long text is embedded in about half the time.
    ///
    /// Nor while sharing has stopped paying (``SharingMonitor``): when other
    /// processes keep the cores busy, the lanes take turns on one core and
    /// wait for each other at every barrier.
    private func lanes(for lengths: [Int]) -> Int? {
        let tokens = lengths.reduce(0, +)
        guard configuration.threads > 1, tokens >= Self.splitTokens, sharing.pays else { return nil }
        let lanes = min(threads.idle, tokens / (Self.splitTokens / 2))
        return lanes > 1 ? lanes : nil
    }

    /// Passes of fewer tokens run on one thread: shorter ones take a few
    /// milliseconds, which the hand-off between threads would eat into.
    static let splitTokens = 64

    /// Runs one pass, writing sequence `i`'s vector at row `i` of `output`.
    private static func run(_ pass: [Int], sequences: [[Int32]], model: BertModel, into output: UnsafeMutablePointer<Float>) {
        let hidden = model.configuration.hiddenSize
        var pooled = [Float](repeating: 0, count: pass.count * hidden)
        pooled.withUnsafeMutableBufferPointer { buffer in
            model.encode(pass.map { sequences[$0] }, into: buffer.baseAddress!)
        }
        pooled.withUnsafeBufferPointer { source in
            for (row, index) in pass.enumerated() {
                (output + index * hidden).update(from: source.baseAddress! + row * hidden, count: hidden)
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

/// Floats that the lanes of a call write into, each its own rows.
///
/// `@unchecked Sendable`: the rows written by different lanes never overlap,
/// and the memory is read and freed only after ``PassThreads/run(_:)`` has
/// returned, when no lane can still be writing.
final class Rows: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>

    init(count: Int) {
        base = .allocate(capacity: max(1, count))
        base.initialize(repeating: 0, count: max(1, count))
    }

    deinit { base.deallocate() }
}

/// Whether sharing a pass between threads has been paying: a shared pass
/// that kept its lanes busy less than ``minimumEfficiency`` of its wall time
/// (their CPU time over lanes × wall time) turns sharing off for
/// ``pause``, after which the next long text tries again.
///
/// Measured on this 2-vCPU machine with other builds keeping both cores
/// busy: two lanes ran at about half efficiency, in turns on one core and
/// waiting for each other at every barrier, and a 152-token text took 10%
/// longer shared than on one thread (docs/benchmarks/log.md, 2026-12-04).
///
/// Thread-safe: one atomic.
final class SharingMonitor: Sendable {
    /// Below this, two lanes finish no sooner than one thread would.
    static let minimumEfficiency = 0.6
    /// How long sharing stays off once it has not paid.
    static let pause: Duration = .seconds(2)

    /// The CPU time of one shared pass's lanes, in nanoseconds.
    final class Work: Sendable {
        let start = ContinuousClock.now
        private let nanoseconds = Atomic<Int64>(0)

        func add(_ cpu: Int64) { nanoseconds.add(cpu, ordering: .relaxed) }
        var total: Int64 { nanoseconds.load(ordering: .relaxed) }
    }

    private let origin = ContinuousClock.now
    /// Nanoseconds after `origin` until which sharing is off.
    private let pausedUntil = Atomic<Int64>(0)

    var pays: Bool { Self.nanoseconds(ContinuousClock.now - origin) >= pausedUntil.load(ordering: .relaxed) }

    func finish(_ work: Work, lanes: Int) {
        let wall = Self.nanoseconds(ContinuousClock.now - work.start)
        guard wall > 0, Double(work.total) < Self.minimumEfficiency * Double(lanes) * Double(wall) else { return }
        pausedUntil.store(Self.nanoseconds(ContinuousClock.now - origin + Self.pause), ordering: .relaxed)
    }

    /// The calling thread's CPU time in nanoseconds.
    static func threadCPU() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
