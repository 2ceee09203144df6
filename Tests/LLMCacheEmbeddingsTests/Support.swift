import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// One case of ../shared/fixtures/minilm/reference.json.
struct ReferenceCase: Sendable, CustomTestStringConvertible {
    var text: String
    var inputIDs: [Int32]
    var embedding: [Float]
    var testDescription: String { String(text.prefix(40)).debugDescription }
}

let referenceCases: [ReferenceCase] = {
    let url = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/minilm/reference.json")
    guard let data = try? Data(contentsOf: url), let json = try? JSONValue(parsing: data), let cases = json["cases"]?.arrayValue else {
        fatalError("cannot read \(url.path): the MiniLM reference fixture is missing")
    }
    return cases.map { c in
        ReferenceCase(
            text: c["text"]!.stringValue!,
            inputIDs: c["input_ids"]!.arrayValue!.map { Int32($0.numberValue!.intValue!) },
            embedding: c["embedding"]!.arrayValue!.map { Float($0.numberValue!.doubleValue) }
        )
    }
}()

/// The real model, loaded once; a missing model fails the tests with the
/// command that installs it.
let sharedEmbedder: Result<MiniLMEmbedder, any Error> = Result { try MiniLMEmbedder() }

func embedder() throws -> MiniLMEmbedder { try sharedEmbedder.get() }

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for i in a.indices { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
    return dot / (na.squareRoot() * nb.squareRoot())
}
