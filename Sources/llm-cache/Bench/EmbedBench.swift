import ArgumentParser
import CBLAS
import Foundation
import LLMCache
import LLMCacheEmbeddings

struct EmbedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Speed, load time and memory of the native all-MiniLM-L6-v2 embedder.",
        discussion: """
            Figures:
              embed.load               ms           first load of the model in this process (safetensors map, vocabulary, Q/K/V fusion)
              embed.rss                MB           VmRSS growth from before the load to after the load and a warm-up batch
              embed.short.1thread      ms           median time to embed one short sentence (at most 16 tokens), 1 thread
              embed.short.1thread.p90  ms           90th percentile of the same
              embed.short.1thread.cpu  ms           median process CPU time for the same (unaffected by other load)
              embed.batch32.2threads   sentences/s  batches of 32 mixed-length sentences, 2 threads
              embed.batch32.tokens     tokens/s     the same run counted in tokens
              embed.batch32.gflops     GFLOP/s      the same run's arithmetic (dense layers and attention) per second
              embed.batch32.cpu        ms           process CPU time per sentence in the same run
              embed.batch32.2threads.openblas  sentences/s  the same batches with OpenBLAS for every product (weights .single)
              embed.150words.1thread   ms           median time to embed one 150-word question (about 200 tokens), 1 thread
              embed.150words.2threads  ms           the same with 2 threads sharing the pass; .gflops beside each
              embed.150words.1thread.openblas  ms   one 150-word question on 1 thread with OpenBLAS for every product
              sgemm.peak.1thread       GFLOP/s      a 1024x1024x1024 cblas_sgemm on 1 thread: what this machine can do at best
            Needs the model (scripts/install-model.sh). Build with -c release for figures worth comparing.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(name: .customLong("model-dir"), help: "The model folder (default: $LLMCACHE_MODEL_DIR, else ~/.cache/llm-cache/models/all-MiniLM-L6-v2).")
    var modelDirectory: String?

    func run() async throws {
        var report = BenchReport(benchmark: "embed")
        let quick = options.quick

        // Load and memory: measured first, before anything else is resident.
        let rssBefore = Self.residentMegabytes()
        let loadStart = ContinuousClock.now
        let single = try MiniLMEmbedder(directory: modelDirectory, configuration: .init(threads: 1))
        let loadTime = ContinuousClock.now - loadStart
        report.add("embed.load", loadTime.milliseconds, "ms")
        _ = try await single.embed(Self.corpus(count: 32))
        report.add("embed.rss", Self.residentMegabytes() - rssBefore, "MB")

        // One short sentence at a time on one thread.
        let shorts = Self.shortSentences.filter { single.tokenIDs($0).count <= 16 }
        for text in shorts { _ = try await single.embed([text]) }
        var samples: [Double] = []
        var cpuSamples: [Double] = []
        let rounds = quick ? 4 : 30
        for _ in 0..<rounds {
            for text in shorts {
                let cpuStart = Self.processCPUMilliseconds()
                let start = ContinuousClock.now
                _ = try await single.embed([text])
                samples.append((ContinuousClock.now - start).milliseconds)
                cpuSamples.append(Self.processCPUMilliseconds() - cpuStart)
            }
        }
        samples.sort()
        cpuSamples.sort()
        let meanTokens = Double(shorts.map { single.tokenIDs($0).count }.reduce(0, +)) / Double(shorts.count)
        progress(String(format: "short sentences: %d texts, %.1f tokens on average, %d samples", shorts.count, meanTokens, samples.count))
        report.add("embed.short.1thread", samples[samples.count / 2], "ms")
        report.add("embed.short.1thread.p90", samples[samples.count * 9 / 10], "ms")
        // CPU time is what the sentence costs regardless of other load on the
        // machine; wall time above is what a caller waits.
        report.add("embed.short.1thread.cpu", cpuSamples[cpuSamples.count / 2], "ms")

        // Batches of 32 mixed-length sentences on two threads.
        let batched = try MiniLMEmbedder(directory: modelDirectory, configuration: .init(threads: 2))
        let batchCount = quick ? 4 : 40
        let corpus = Self.corpus(count: 32 * batchCount)
        let lengths = corpus.map { batched.tokenIDs($0).count }
        let tokens = lengths.reduce(0, +)
        progress(String(format: "batch corpus: %d sentences, %.1f tokens on average, %d to %d", corpus.count, Double(tokens) / Double(corpus.count), lengths.min()!, lengths.max()!))
        _ = try await batched.embed(Array(corpus.prefix(32)))
        progress("kernels: \(batched.kernels)")
        let (seconds, batchCPU) = try await Self.timeBatches(corpus, on: batched, count: batchCount)
        report.add("embed.batch32.2threads", Double(corpus.count) / seconds, "sentences/s")
        report.add("embed.batch32.tokens", Double(tokens) / seconds, "tokens/s")
        report.add("embed.batch32.gflops", Self.flops(lengths: lengths) / seconds / 1e9, "GFLOP/s")
        report.add("embed.batch32.cpu", batchCPU / Double(corpus.count), "ms")
        // The same with OpenBLAS for every product, in the same run: what the
        // kernel choice is worth on this machine.
        let openBLAS = try MiniLMEmbedder(directory: modelDirectory, configuration: .init(threads: 2, weights: .single))
        _ = try await openBLAS.embed(Array(corpus.prefix(32)))
        let (blasSeconds, _) = try await Self.timeBatches(corpus, on: openBLAS, count: batchCount)
        report.add("embed.batch32.2threads.openblas", Double(corpus.count) / blasSeconds, "sentences/s")

        // One 150-word question at a time (about 200 tokens), as a miss of an
        // ordinary prompt embeds it: on one thread, and on two, which share
        // the pass of one long text.
        let questions = (0..<(quick ? 10 : 40)).map { ProxyBench.prose(words: 148, seed: 7_000_000 + $0) + "?" }
        let questionTokens = questions.map { single.tokenIDs($0).count }
        progress(String(format: "150-word questions: %d, %.0f tokens on average", questions.count, Double(questionTokens.reduce(0, +)) / Double(questions.count)))
        let singleOpenBLAS = try MiniLMEmbedder(directory: modelDirectory, configuration: .init(threads: 1, weights: .single))
        for (name, embedder) in [("1thread", single), ("2threads", batched), ("1thread.openblas", singleOpenBLAS)] {
            _ = try await embedder.embed([questions[0]])
            var times: [Double] = []
            for question in questions {
                let start = ContinuousClock.now
                _ = try await embedder.embed([question])
                times.append((ContinuousClock.now - start).milliseconds)
            }
            times.sort()
            let median = times[times.count / 2]
            report.add("embed.150words.\(name)", median, "ms")
            if embedder !== singleOpenBLAS {
                report.add("embed.150words.\(name).gflops", Self.flops(lengths: [questionTokens[0]]) / (median / 1000) / 1e9, "GFLOP/s")
            }
        }

        report.add("sgemm.peak.1thread", Self.sgemmPeak(quick: quick), "GFLOP/s")
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
            progress("load average during the run: \(load.split(separator: " ").prefix(3).joined(separator: " ")) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        }
        report.print(json: options.json)
    }

    /// Wall seconds and process CPU milliseconds for `count` batches of 32 of `corpus`.
    static func timeBatches(_ corpus: [String], on embedder: MiniLMEmbedder, count: Int) async throws -> (seconds: Double, cpu: Double) {
        let cpuStart = processCPUMilliseconds()
        let start = ContinuousClock.now
        for batch in 0..<count {
            _ = try await embedder.embed(Array(corpus[(batch * 32)..<((batch + 1) * 32)]))
        }
        return ((ContinuousClock.now - start).seconds, processCPUMilliseconds() - cpuStart)
    }

    /// Multiply-adds ×2 of one forward pass over sequences of `lengths`:
    /// Q/K/V, attention output and feed-forward products per token, and the
    /// two attention products per sequence, for all 6 layers.
    static func flops(lengths: [Int]) -> Double {
        let hidden = 384.0, inner = 1536.0, layers = 6.0
        var total = 0.0
        for length in lengths.map(Double.init) {
            let dense = length * (3 * hidden * hidden + hidden * hidden + 2 * hidden * inner)
            let attention = 2 * length * length * hidden
            total += 2 * layers * (dense + attention)
        }
        return total
    }

    /// GFLOP/s of one 1024×1024×1024 single-precision product on one OpenBLAS
    /// thread, best of several runs.
    static func sgemmPeak(quick: Bool) -> Double {
        let n = 1024
        let a = [Float](repeating: 0.5, count: n * n)
        let b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        var best = 0.0
        for _ in 0..<(quick ? 3 : 10) {
            let start = ContinuousClock.now
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
            let seconds = (ContinuousClock.now - start).seconds
            best = max(best, 2 * Double(n * n * n) / seconds / 1e9)
        }
        return best
    }

    /// CPU time used by the whole process so far (all threads), in ms.
    static func processCPUMilliseconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
    }

    /// VmRSS from /proc/self/status, in MB (10^6 bytes); 0 where there is none.
    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
            return kilobytes * 1024 / 1e6
        }
        return 0
    }

    /// Questions of the kind sent to a chat model, 6 to 16 tokens.
    static let shortSentences = [
        "What is Python?",
        "How do I reverse a linked list in place?",
        "What's the capital of France?",
        "How can I cancel my subscription?",
        "Explain the difference between a process and a thread.",
        "Translate 'good morning' into German.",
        "The quick brown fox jumps over the lazy dog.",
        "What is the time complexity of quicksort in the worst case?",
    ]

    /// `count` sentences of mixed length (about 5 to 90 tokens, 25 on
    /// average), deterministic so every run measures the same work.
    static func corpus(count: Int) -> [String] {
        let words = """
            caching large language model responses saves money and time but stale answers and false semantic \
            matches are the risks every cache must manage carefully when prompts change tools are updated or \
            the underlying model is replaced by a newer version with different behaviour under load in production \
            systems where latency budgets are tight and users expect consistent answers to repeated questions
            """.split(separator: " ")
        let lengths = [4, 9, 14, 6, 22, 11, 40, 8, 17, 3, 30, 12, 60, 7, 25, 10]
        var generator = SplitMix64(state: 42)
        return (0..<count).map { index in
            let length = lengths[index % lengths.count]
            let start = Int(generator.next() % UInt64(words.count))
            let sentence = (0..<length).map { words[(start + $0 * 7) % words.count] }.joined(separator: " ")
            return sentence.prefix(1).uppercased() + sentence.dropFirst() + (index % 3 == 0 ? "?" : ".")
        }
    }
}

fileprivate extension Duration {
    /// `seconds` comes from the core's extension.
    var milliseconds: Double { seconds * 1000 }
}
