import ArgumentParser
import Foundation
import LLMCache
import LLMCacheEmbeddings

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with the native all-MiniLM-L6-v2 model (384-d unit vectors).",
        discussion: """
            Prints one vector per TEXT, in order: one line of space-separated numbers \
            per text, or with --json one object:
              {"model": "sentence-transformers/all-MiniLM-L6-v2", "dimension": 384, "embeddings": [[...], ...]}
            With --cosine, prints the cosine similarity of exactly two texts instead.
            With --stdin, reads the texts from standard input, one JSON object per line: {"text": "..."}.

            The model is loaded from --model-dir, else $LLMCACHE_MODEL_DIR, else \
            ${XDG_CACHE_HOME:-~/.cache}/llm-cache/models/all-MiniLM-L6-v2; install it there with \
            scripts/install-model.sh.

            Examples:
              llm-cache embed "What is Python?"
              llm-cache embed --cosine "What's the capital of France?" "Tell me the capital city of France."
              printf '{"text": "a"}\\n{"text": "b"}\\n' | llm-cache embed --json --stdin
            """
    )

    @Argument(help: "The texts to embed (none with --stdin).")
    var texts: [String] = []

    @Flag(help: "Print {\"model\", \"dimension\", \"embeddings\"} as JSON instead of plain lines.")
    var json = false

    @Flag(help: "Print the cosine similarity of the two texts given instead of their vectors.")
    var cosine = false

    @Flag(help: "Read texts from standard input as JSON lines ({\"text\": \"...\"}), not from arguments.")
    var stdin = false

    @Option(name: .customLong("model-dir"), help: ArgumentHelp("The model folder.", valueName: "dir"))
    var modelDirectory: String?

    @Option(help: "Forward passes run at once (default: the number of cores).")
    var threads: Int?

    func validate() throws {
        if stdin, !texts.isEmpty {
            throw ValidationError("Give texts either as arguments or with --stdin, not both.")
        }
        if !stdin, texts.isEmpty {
            throw ValidationError("Give at least one TEXT, or --stdin.")
        }
        if cosine, !stdin, texts.count != 2 {
            throw ValidationError("--cosine compares exactly two texts; \(texts.count) given.")
        }
        if let threads, threads < 1 {
            throw ValidationError("--threads must be at least 1.")
        }
    }

    func run() async throws {
        let inputs = stdin ? try Self.readJSONLines() : texts
        if cosine, inputs.count != 2 {
            throw CacheError(.invalidArgument, "--cosine compares exactly two texts; standard input held \(inputs.count)")
        }
        var configuration = MiniLMEmbedder.Configuration()
        if let threads { configuration.threads = threads }
        let embedder = try MiniLMEmbedder(directory: modelDirectory, configuration: configuration)
        let batch = try await embedder.embed(inputs)

        if cosine {
            // The vectors are unit length, so their dot product is the cosine.
            let similarity = zip(batch[0], batch[1]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            if json {
                try Self.printJSON(CosineOutput(model: embedder.modelIdentifier, cosine: similarity))
            } else {
                print(similarity)
            }
            return
        }
        if json {
            // Written by hand so the keys come in the documented order.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let model = String(decoding: try encoder.encode(embedder.modelIdentifier), as: UTF8.self)
            let rows = batch.vectors.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }
            print("{\"model\": \(model), \"dimension\": \(batch.dimension), \"embeddings\": [" + rows.joined(separator: ", ") + "]}")
        } else {
            for vector in batch.vectors {
                print(vector.map { "\($0)" }.joined(separator: " "))
            }
        }
    }

    struct CosineOutput: Encodable {
        var model: String
        var cosine: Float
    }

    struct InputLine: Decodable {
        var text: String
    }

    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// One text per non-blank line of standard input, each `{"text": "..."}`.
    static func readJSONLines() throws -> [String] {
        var texts: [String] = []
        var lineNumber = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            do {
                texts.append(try JSONDecoder().decode(InputLine.self, from: Data(line.utf8)).text)
            } catch {
                throw CacheError(.invalidArgument, "line \(lineNumber) of standard input is not a JSON object with a string \"text\": \(line.prefix(80))")
            }
        }
        return texts
    }
}
