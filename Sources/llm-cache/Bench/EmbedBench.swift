import ArgumentParser
import CBLAS
import Foundation
import LLMCache
import LLMCacheEmbeddings

struct EmbedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embedding speed: one short sentence, batches of 32, model load, memory, and sgemm peak."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "The model folder (default: where the model is installed).")
    var modelDir: String?

    static let shortSentences = [
        "What is the capital of France?", "How do I reset my password?", "Is coffee bad for your heart?",
        "Explain TCP handshakes briefly.", "Who wrote Pride and Prejudice?", "Can dogs eat grapes?",
    ]

    static let mixedSentences: [String] = {
        let base = [
            "Why is the sky blue?",
            "How many calories are in a banana and how does that compare with an apple?",
            "Summarize the following meeting notes into three bullet points for the team lead.",
            "What is the time complexity of quicksort in the worst case, and how can randomised pivots help avoid it in practice?",
            "Translate 'good morning' into German.",
            "Write a Python function that reverses a linked list in place without using extra memory, and explain each step of the algorithm so a beginner can follow it.",
            "Best restaurants in Paris for vegetarians",
            "Recommend a laptop under 1000 dollars for programming, with at least 16 GB of memory and a good keyboard.",
        ]
        return (0..<32).map { base[$0 % base.count] + ($0 >= base.count ? " (\($0))" : "") }
    }()

    func run() async throws {
        var report = BenchReport(benchmark: "embed")
        let rssBefore = residentMegabytes()
        let loadStart = ContinuousClock.now
        let single = try MiniLMEmbedder(directory: modelDir, configuration: .init(threads: 1))
        report.add("embed.load", (ContinuousClock.now - loadStart).seconds * 1000, "ms")
        report.add("embed.rss", residentMegabytes() - rssBefore, "MB")

        // One short sentence at a time on one thread: the latency of a lookup.
        for text in Self.shortSentences { _ = single.embedNow([text]) }
        var latencies: [Double] = []
        let rounds = options.quick ? 60 : 600
        for i in 0..<rounds {
            let start = ContinuousClock.now
            _ = single.embedNow([Self.shortSentences[i % Self.shortSentences.count]])
            latencies.append((ContinuousClock.now - start).seconds * 1000)
        }
        latencies.sort()
        report.add("embed.short.1thread", latencies[latencies.count / 2], "ms")
        report.add("embed.short.1thread.p99", latencies[latencies.count * 99 / 100], "ms")

        // Batches of 32 mixed-length sentences, 1 and 2 threads.
        let batch = Self.mixedSentences
        let tokens = Double(batch.reduce(0) { $0 + single.tokenizer.encode($1).count })
        let flops = single.flops(batch)
        for threads in [1, 2] {
            let model = threads == 1 ? single : try MiniLMEmbedder(directory: modelDir, configuration: .init(threads: threads))
            _ = model.embedNow(batch)
            let batches = options.quick ? 5 : 40
            let start = ContinuousClock.now
            for _ in 0..<batches { _ = model.embedNow(batch) }
            let seconds = (ContinuousClock.now - start).seconds
            report.add("embed.batch32.\(threads)thread\(threads == 1 ? "" : "s")", Double(batches * 32) / seconds, "sentences/s")
            if threads == 2 {
                report.add("embed.batch32.2threads.tokens", Double(batches) * tokens / seconds, "tokens/s")
                report.add("embed.batch32.gflops", Double(batches) * flops / seconds / 1e9, "GFLOP/s")
            }
        }
        report.add("sgemm.peak.1thread", sgemmPeak(quick: options.quick), "GFLOP/s")
        report.print(json: options.json)
    }

    /// GFLOP/s of a large single-threaded sgemm: the ceiling for our dense layers.
    func sgemmPeak(quick: Bool) -> Double {
        let n = 1024
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let repeats = quick ? 3 : 10
        var best = 0.0
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
            best = max(best, 2 * pow(Double(n), 3) / (ContinuousClock.now - start).seconds / 1e9)
        }
        return best
    }
}

/// This process's resident memory, from /proc/self/status (VmRSS).
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}
