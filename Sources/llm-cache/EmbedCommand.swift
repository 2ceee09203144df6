import ArgumentParser
import Foundation
import LLMCache
import LLMCacheEmbeddings

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print sentence embeddings (all-MiniLM-L6-v2, computed in-process), or the cosine between two texts.",
        discussion: """
            With --json, prints {"model": ..., "dimension": 384, "embeddings": [[...], ...]}, \
            one embedding per text in order. --stdin reads one JSON object per line, \
            {"text": "..."}, instead of arguments.
            """
    )

    @Argument(help: "Texts to embed.")
    var texts: [String] = []

    @Flag(help: "Print one JSON object with every embedding.")
    var json = false

    @Flag(help: "Print the cosine similarity of exactly two texts instead of their vectors.")
    var cosine = false

    @Flag(help: "Read JSON lines {\"text\": \"...\"} from standard input instead of arguments.")
    var stdin = false

    @Option(help: "The model folder (default: $LLMCACHE_MODEL_DIR, else ~/.cache/llm-cache/models/all-MiniLM-L6-v2).")
    var modelDir: String?

    func validate() throws {
        if stdin && !texts.isEmpty { throw ValidationError("give texts as arguments or with --stdin, not both") }
        if !stdin && texts.isEmpty { throw ValidationError("give at least one text, or --stdin") }
        if cosine && !stdin && texts.count != 2 { throw ValidationError("--cosine compares exactly two texts") }
    }

    func run() async throws {
        var inputs = texts
        if stdin {
            inputs = []
            var number = 0
            while let line = readLine(strippingNewline: true) {
                number += 1
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                let value: JSONValue
                do { value = try JSONValue(parsing: line) } catch let error as CacheError {
                    throw CacheError(.invalidArgument, "standard input line \(number): \(error.message)")
                }
                guard let text = value["text"]?.stringValue else {
                    throw CacheError(.invalidArgument, "standard input line \(number): expected {\"text\": \"...\"}")
                }
                inputs.append(text)
            }
            if cosine && inputs.count != 2 { throw ValidationError("--cosine compares exactly two texts; standard input had \(inputs.count)") }
        }
        let model = try MiniLMEmbedder(directory: modelDir)
        let batch = try await model.embed(inputs)
        if cosine {
            let a = batch[0], b = batch[1]
            let similarity = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            print(json ? #"{"model": "\#(model.modelIdentifier)", "cosine": \#(similarity)}"# : String(format: "%.6f", similarity))
            return
        }
        if json {
            let rows = batch.vectors.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }
            print(#"{"model": "\#(model.modelIdentifier)", "dimension": \#(model.dimension), "embeddings": [\#(rows.joined(separator: ", "))]}"#)
        } else {
            for (text, vector) in zip(inputs, batch.vectors) {
                print("\(text.prefix(60)): [\(vector.prefix(6).map { String(format: "%.4f", $0) }.joined(separator: ", ")), … \(vector.count) values]")
            }
        }
    }
}
