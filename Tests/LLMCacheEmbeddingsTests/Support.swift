import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

/// One case of the sentence-transformers reference outputs.
struct ReferenceCase: Decodable, Sendable, CustomTestStringConvertible {
    var text: String
    var input_ids: [Int32]
    var embedding: [Float]

    var testDescription: String {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return shown.debugDescription
    }
}

struct ReferenceFile: Decodable {
    var model: String
    var max_seq_length: Int
    var cases: [ReferenceCase]
}

enum Fixtures {
    /// The repository root: this file is Tests/LLMCacheEmbeddingsTests/Support.swift.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/fixtures/minilm/reference.json` beside the repository.
    static let referencePath = repositoryRoot
        .deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/minilm/reference.json").path

    /// The reference cases; a missing fixture fails every test that uses it
    /// (an empty argument list would pass silently).
    static let referenceCases: [ReferenceCase] = {
        guard let data = FileManager.default.contents(atPath: referencePath),
              let file = try? JSONDecoder().decode(ReferenceFile.self, from: data),
              !file.cases.isEmpty
        else {
            return [ReferenceCase(text: "missing fixture \(referencePath)", input_ids: [], embedding: [])]
        }
        return file.cases
    }()

    /// The model, loaded once for the whole test run. Tests need the real
    /// weights: when they are not installed this throws the locator's error,
    /// which names scripts/install-model.sh, and the test fails.
    static func embedder() throws -> MiniLMEmbedder {
        try shared.get()
    }

    private static let shared: Result<MiniLMEmbedder, any Error> = Result { try MiniLMEmbedder() }

    /// The model with half-precision weights for short inputs, whatever the build.
    static func halfPrecisionEmbedder() throws -> MiniLMEmbedder {
        try half.get()
    }

    private static let half: Result<MiniLMEmbedder, any Error> = Result { try MiniLMEmbedder(configuration: .init(weights: .half)) }
}

/// The cosine of two vectors.
func cosine(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Float {
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for (x, y) in zip(a, b) {
        dot += x * y
        na += x * x
        nb += y * y
    }
    return dot / max((na * nb).squareRoot(), 1e-30)
}
